"""The runner: jobs side by side in worker processes match one after the other; errors and interrupts reach the
caller; `side_by_side` trains the specs of several settings in one batch."""
import multiprocessing
import time

import pandas as pd
import pytest

from undo_lib import runner
from undo_lib.pipeline import Experiment, side_by_side


def test_side_by_side_attacks_match_one_after_the_other(tmp_path, monkeypatch):
    curves = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("UNDO_WORKERS", workers)
        exp = Experiment("smoke", "language", 0, store_root=tmp_path / workers)
        models = {"Reference": exp.pretrain("reference"), "Oracle": exp.pretrain("oracle")}
        curves[workers] = exp.relearn(models)
    pd.testing.assert_frame_equal(curves["1"], curves["2"], atol=1e-4)  # worker processes run one thread each


def _fail_on_b(job):
    if job.spec == "b":
        raise ValueError("no such stage")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_failing_job_is_named(monkeypatch, workers):
    monkeypatch.setenv("UNDO_WORKERS", workers)
    jobs = [runner.Job((), spec, f"key {spec}", f"stage {spec}", cost) for spec, cost in (("a", 1.0), ("b", 2.0))]
    with pytest.raises(runner.StageFailed, match="stage b failed: no such stage") as error:
        runner.run(jobs, _fail_on_b)
    assert isinstance(error.value.__cause__, ValueError)


def test_bad_worker_count_is_named(monkeypatch):
    monkeypatch.setenv("UNDO_WORKERS", "two")
    with pytest.raises(ValueError, match="UNDO_WORKERS must be a positive integer"):
        runner.workers()


def test_side_by_side_trains_both_settings_stages_in_one_batch(tmp_path, monkeypatch):
    """Every spec the recipes of both settings return is trained in one batch, each job once, with a cost."""
    monkeypatch.setenv("UNDO_WORKERS", "2")
    batches, run = [], runner.run

    def spy(jobs, worker, desc="", **kw):
        batches.append(list(jobs))
        return run(jobs, worker, desc, **kw)
    monkeypatch.setattr(runner, "run", spy)
    experiments = {s: Experiment("smoke", s, 0, store_root=tmp_path) for s in ("arithmetic", "language")}
    got = side_by_side(experiments, lambda s, e: {"Reference": e.pretrain_spec("reference"),
                                                  "Oracle": {"again": e.pretrain_spec("oracle")}})
    assert len(batches) == 1 and len(batches[0]) == 4 and all(j.cost > 0 for j in batches[0])
    assert {j.spec.mixture for j in batches[0]} == {"reference", "oracle"}
    for s, e in experiments.items():
        assert got[s]["Reference"].key == e.pretrain("reference").key
        assert got[s]["Oracle"]["again"].key == e.pretrain("oracle").key
    again = side_by_side(experiments, lambda s, e: e.pretrain_spec("oracle"))
    assert again["language"].key == got["language"]["Oracle"]["again"].key and len(batches[-1]) == 0


def test_an_interrupt_stops_the_workers(tmp_path, monkeypatch):
    """Ctrl-C (the notebook's stop button) during a batch stops the worker processes, not only the notebook's wait."""
    monkeypatch.setenv("UNDO_WORKERS", "2")
    exp, running = Experiment("smoke", "language", 0, store_root=tmp_path), []

    def interrupted(futures, **kw):
        running.extend(multiprocessing.active_children())
        raise KeyboardInterrupt
    monkeypatch.setattr(runner, "as_completed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        side_by_side({"language": exp}, lambda s, e: {w: e.pretrain_spec(w) for w in ("reference", "oracle")})
    assert running
    deadline = time.time() + 30  # the executor's own thread may be reaping them at the same moment: poll
    while any(p.is_alive() for p in running) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(p.is_alive() for p in running)


def test_stages_that_launch_several_processes_run_one_at_a_time(tmp_path, monkeypatch):
    """At a scale whose stages run under `accelerate launch`, a pool would start one launch per worker at once."""
    import dataclasses
    monkeypatch.setenv("UNDO_WORKERS", "2")
    seen, exp = [], Experiment("smoke", "language", 0, store_root=tmp_path)
    exp.pretrain("oracle")
    monkeypatch.setattr(runner, "run", lambda jobs, worker, desc="", in_order=False: seen.append(in_order))
    side_by_side({"language": exp}, lambda s, e: e.pretrain_spec("oracle"))
    exp.preset = dataclasses.replace(exp.preset, num_processes=2)
    side_by_side({"language": exp}, lambda s, e: e.pretrain_spec("oracle"))
    assert seen == [False, True]


def test_workers_exit_when_the_notebook_dies(tmp_path):
    """A killed kernel runs no clean-up: its workers notice they were orphaned and exit instead of training on."""
    import os
    import signal
    import subprocess
    import sys
    script, pid_file = tmp_path / "dies.py", tmp_path / "workers.txt"
    script.write_text(
        "import os, sys, time\n"
        "from undo_lib import runner\n"
        "if __name__ == '__main__':\n"
        "    pool = runner._get_pool()\n"
        "    futures = [pool.submit(time.sleep, 0.5) for _ in range(4)]\n"
        "    [f.result() for f in futures]\n"
        "    open(sys.argv[1], 'w').write(' '.join(map(str, pool._processes)))\n"
        "    os._exit(0)  # as SIGKILL would: no atexit, no executor shut-down\n")
    env = {**os.environ, "UNDO_WORKERS": "2"}
    subprocess.run([sys.executable, str(script), str(pid_file)], env=env, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # orphans would hold a pipe open
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    deadline = time.time() + 10
    while any(map(alive, pids)) and time.time() < deadline:
        time.sleep(0.1)
    orphans = [p for p in pids if alive(p)]
    for pid in orphans:  # a failing run leaves nothing behind
        os.kill(pid, signal.SIGKILL)
    assert not orphans
