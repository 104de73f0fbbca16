"""Independent stages side by side on a CPU.

A small model trains inefficiently on two threads: on 2 cores, two arithmetic stages at one thread each take
0.27 s a step against 0.18 s for one stage at two threads, 1.35x the throughput (language, with longer rows, 1.06x).
`run` hands a list of independent calls (UNDO's students, the attacks on several models) to a pool of worker
processes, one per core, each with an equal share of the threads, costliest first so that the workers finish
together. `side_by_side` gathers the calls of both settings into one such batch: a notebook cell's work for
arithmetic and language shares the pool instead of running one setting after the other.

Each worker keeps its own `Experiment` per (scale, setting, seed, store), so data are built once per worker, and
UNDO's students that follow one another in a worker share their teacher's outputs. Results land in the store, where
the caller then finds them; nothing is returned. Workers' progress bars go to the terminal that started the notebook
(papermill's log with --log-output); the notebook shows one bar for the batch. An interrupt (Ctrl-C, the notebook's
stop button) stops the workers as well; their stages resume from their checkpoints on the next run. On a GPU, with
one core, or with UNDO_WORKERS=1, the calls run here, in order.
"""
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

_pool, _experiments = None, {}
_plan: dict | None = None  # while side_by_side gathers: key -> Call


@dataclass(frozen=True)
class Call:
    """experiment.<method>(*args), one independent stage. `key` names what it fills in the store (a call asked
    for twice runs once); `cost` estimates its work, in tokens processed."""
    experiment: Any
    method: str
    args: tuple
    key: str
    cost: float = 0.0


def workers() -> int:
    """How many calls run at once: UNDO_WORKERS if set, else 1 on a GPU and one per CPU core."""
    if "UNDO_WORKERS" in os.environ:
        return max(1, int(os.environ["UNDO_WORKERS"]))
    return 1 if torch.cuda.is_available() else max(1, os.cpu_count() or 1)


def gathering() -> bool:
    """True while side_by_side gathers calls: stages then register what they would train, and train nothing."""
    return _plan is not None


def _init_worker(threads: int):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the notebook's to handle: it stops the pool
    torch.set_num_threads(threads)


def _call(spec: tuple, method: str, args: tuple):
    from .pipeline import Experiment
    if spec not in _experiments:
        _experiments[spec] = Experiment(*spec)
    getattr(_experiments[spec], method)(*args)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        size = workers()
        _pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                                    initargs=(max(1, (os.cpu_count() or size) // size),))
    return _pool


def run(calls: list, desc: str = "stages"):
    """Make each Call of `calls` once: in worker processes, costliest first, when there are several calls and
    several workers; else here, in order. While side_by_side gathers, only register them. Arguments must pickle."""
    calls = list({c.key: c for c in calls}.values())
    if _plan is not None:
        _plan.update((c.key, c) for c in calls)
        return
    if len(calls) < 2 or workers() < 2 or any(c.experiment.preset.num_processes > 1 for c in calls):
        for c in calls:
            getattr(c.experiment, c.method)(*c.args)
        return
    futures = []
    for c in sorted(calls, key=lambda c: -c.cost):
        e = c.experiment
        futures.append(_get_pool().submit(_call, (e.scale, e.setting, e.seed, str(e.store.root)), c.method, c.args))
    try:
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({workers()} processes)",
                           leave=False):
            future.result()  # a worker's exception is raised here
    except KeyboardInterrupt:  # stop the workers too; their stages resume from their checkpoints next time
        _stop_pool()
        raise


def _stop_pool():
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        processes = list(getattr(pool, "_processes", {}).values())  # the executor offers no public handle
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


def side_by_side(experiments: dict, fn, desc: str = "stages") -> dict:
    """{setting: fn(setting, experiment)} for each of `experiments`, the stages of all the calls trained together.

    A first pass calls fn while gathering: the stages fn would train register and return None (attacks an empty
    table), and nothing trains. The gathered stages then run in one batch (`run`), and a second pass calls fn again,
    finding everything in the store. The stages one fn call starts must not need one another; if one does, the
    first pass fails quietly at it and the second trains it, in the usual way."""
    global _plan
    _plan = {}
    try:
        for s, e in experiments.items():
            try:
                fn(s, e)
            except Exception:  # noqa: BLE001 - a stage whose input is itself only gathered: the second pass has it
                pass
        calls = list(_plan.values())
    finally:
        _plan = None
    run(calls, desc)
    return {s: fn(s, e) for s, e in experiments.items()}
