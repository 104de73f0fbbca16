"""Independent stages side by side on a CPU.

A small model trains inefficiently on two threads: on 2 cores, two arithmetic stages at one thread each take
0.27 s a step against 0.18 s for one stage at two threads, 1.35x the throughput (language, with longer rows, 1.06x).
A whole notebook gains less, as stages finish unevenly: notebook 04 at `cpu` took 564 s against 608 s in order.
`run` hands a list of independent calls (UNDO's students, the attacks on several models) to a pool of worker
processes, one per core, each with an equal share of the threads. Each worker keeps its own `Experiment` per
(scale, setting, seed, store), so data are built once per worker. Results land in the store, where the caller then
finds them; nothing is returned. Workers' progress bars go to the terminal that started the notebook (papermill's
log with --log-output); the notebook shows one bar for the batch. On a GPU, with one core, or with UNDO_WORKERS=1,
the calls run here, in order.
"""
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch
from tqdm.auto import tqdm

_pool, _experiments = None, {}


def workers() -> int:
    """How many calls run at once: UNDO_WORKERS if set, else 1 on a GPU and one per CPU core."""
    if "UNDO_WORKERS" in os.environ:
        return max(1, int(os.environ["UNDO_WORKERS"]))
    return 1 if torch.cuda.is_available() else max(1, os.cpu_count() or 1)


def _init_worker(threads: int):
    torch.set_num_threads(threads)


def _call(spec: tuple, method: str, args: tuple, kwargs: dict):
    from .pipeline import Experiment
    if spec not in _experiments:
        _experiments[spec] = Experiment(*spec)
    getattr(_experiments[spec], method)(*args, **kwargs)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        size = workers()
        _pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                                    initargs=(max(1, (os.cpu_count() or size) // size),))
    return _pool


def run(experiment, calls: list, desc: str = "stages"):
    """Run experiment.<method>(*args, **kwargs) for each (method, args, kwargs) of `calls`: in worker processes
    when there are several calls and several workers, else here. Arguments must pickle (Artifacts do)."""
    if len(calls) < 2 or workers() < 2 or experiment.preset.num_processes > 1:
        for method, args, kwargs in calls:
            getattr(experiment, method)(*args, **kwargs)
        return
    spec = (experiment.scale, experiment.setting, experiment.seed, str(experiment.store.root))
    futures = [_get_pool().submit(_call, spec, method, args, kwargs) for method, args, kwargs in calls]
    for future in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({workers()} processes)",
                       leave=False):
        future.result()  # a worker's exception is raised here
