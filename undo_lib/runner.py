"""Train what the store lacks: a list of independent jobs, side by side on a CPU, in order on a GPU.

A small model trains inefficiently on two threads: on 2 cores, two arithmetic stages at one thread each take
0.27 s a step against 0.18 s for one stage at two threads, 1.35x the throughput (language, with longer rows, 1.06x).
`run(jobs, worker)` hands the jobs to a pool of worker processes, one per core, each with an equal share of the
threads, costliest first so that the workers finish together; `worker(job)` is called once per job, there or here.
The runner knows nothing of what a job is: the caller passes the worker function (a module-level function, so that
it pickles) and reads the results from the store afterwards.

Workers' progress bars go to the terminal that started the notebook (papermill's log with --log-output); the
notebook shows one bar for the batch. A failing job raises `StageFailed` naming it, with the worker's error as its
cause. An interrupt (Ctrl-C, the notebook's stop button) stops the workers as well; their stages resume from their
checkpoints on the next run; a worker whose notebook dies (a killed kernel) exits within a second rather than
train on as an orphan. On a GPU, with one core, with UNDO_WORKERS=1, or for a single job, the jobs run here,
in order.
"""
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

_pool = None


@dataclass(frozen=True)
class Job:
    """One independent unit of work: `spec` (what to train) of the experiment `experiment` (what the worker needs
    to rebuild it: scale, setting, seed, store root). `key` names what it fills (a job asked for twice runs once);
    `name` labels it in errors; `cost` orders the work."""
    experiment: tuple
    spec: Any
    key: str
    name: str
    cost: float = 0.0


class StageFailed(RuntimeError):
    """A job failed; the message names it, the cause is the worker's exception."""


def workers() -> int:
    """How many jobs run at once: UNDO_WORKERS if set, else 1 on a GPU and one per CPU core."""
    if "UNDO_WORKERS" in os.environ:
        value = os.environ["UNDO_WORKERS"]
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"UNDO_WORKERS must be a positive integer, got {value!r}")
        return int(value)
    return 1 if torch.cuda.is_available() else max(1, os.cpu_count() or 1)


def _exit_with_parent(parent: int, every: float = 0.5):
    """Poll until this process's parent is no longer `parent` (it died and the process was reparented), then
    exit at once: the pool's own clean-up never runs when the notebook's kernel is killed."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _init_worker(threads: int):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is the notebook's to handle: it stops the pool
    torch.set_num_threads(threads)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        size = workers()
        _pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                                    initargs=(max(1, (os.cpu_count() or size) // size),))
    return _pool


def run(jobs: list, worker: Callable[[Job], None], desc: str = "stages", in_order: bool = False) -> None:
    """worker(job) once per distinct job key: in worker processes, costliest first, when there are several jobs
    and several workers (and not `in_order`); else here, in order."""
    jobs = list({j.key: j for j in jobs}.values())
    if len(jobs) < 2 or workers() < 2 or in_order:
        for job in jobs:
            _named(worker, job)
        return
    futures = {_get_pool().submit(worker, job): job for job in sorted(jobs, key=lambda j: -j.cost)}
    try:
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({workers()} processes)",
                           leave=False):
            try:
                future.result()
            except Exception as error:
                raise StageFailed(f"{futures[future].name} failed: {error}") from error
    except BaseException:  # an interrupt or a failure: stop the others; they resume from their checkpoints
        _stop_pool()
        raise


def _named(worker, job):
    try:
        worker(job)
    except StageFailed:
        raise
    except Exception as error:
        raise StageFailed(f"{job.name} failed: {error}") from error


def _stop_pool():
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        processes = list(getattr(pool, "_processes", {}).values())  # the executor offers no public handle
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
