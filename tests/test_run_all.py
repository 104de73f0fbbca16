"""The two README commands: argument errors end with the usage before any work; the claims refresh reads the
results directory it is given; a notebook with a bad parameter stops before training anything."""
import os
import subprocess
import sys

import pandas as pd
import pytest

from undo_lib import repo_path, verdicts


def _run_all(*args):
    return subprocess.run(["bash", str(repo_path("run_all.sh")), *args], capture_output=True, text=True, timeout=120)


def test_help_prints_the_usage():
    out = _run_all("--help")
    assert out.returncode == 0 and "usage: ./run_all.sh" in out.stdout and "-p KEY VALUE" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["-p"], "-p needs a KEY and a VALUE"), (["-p", "seed"], "-p needs a KEY and a VALUE"),
    (["--scale"], "--scale needs a value"), (["-p", "sede", "1"], "unknown notebook parameter 'sede'"),
    (["-p", "scale", "gpu"], "set the scale with --scale"), (["--scale", "laptop"], "--scale must be smoke"),
    (["--frobnicate"], "unknown argument: --frobnicate"), (["student", "x"], "student takes no arguments"),
    (["--seeds"], "--seeds needs a list"), (["--seeds", "0 x"], "--seeds takes non-negative integers, got 'x'"),
    (["--seeds", "0 1", "-p", "seed", "2"], "not both"), (["-p", "seed", "2", "--seeds", "1"], "not both")])
def test_bad_arguments_fail_with_the_usage(args, message):
    out = _run_all(*args)
    assert out.returncode == 2 and message in out.stderr and "usage:" in out.stderr


def test_the_claims_refresh_reads_the_given_results_dir(tmp_path, capsys):
    verdicts.record(tmp_path, "C1", "arithmetic", "smoke", 0, True, "numbers")
    readme = repo_path("README.md").read_text()
    verdicts.main(["smoke", str(tmp_path)])
    assert "| C1 | arithmetic | smoke | 0 | holds | no interval | numbers |" in capsys.readouterr().out
    assert repo_path("README.md").read_text() == readme  # the README reads results/<scale> only


def test_a_bad_notebook_parameter_stops_before_any_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = subprocess.run([sys.executable, "-m", "papermill", str(repo_path("notebooks", "01_oracle_matching.ipynb")),
                          str(tmp_path / "out.ipynb"), "-k", "python3", "-p", "scale", "smoke",
                          "-p", "results_dir", str(blocker / "results")],
                         capture_output=True, text=True, timeout=300, env={**os.environ,
                                                                           "UNDO_STORE": str(tmp_path / "store")})
    assert out.returncode != 0 and "parameter 'results_dir': cannot write into" in out.stderr
    assert not (tmp_path / "store").exists()  # nothing was trained


def _notebook(tmp_path, name, results, store):
    return subprocess.Popen(
        [sys.executable, "-m", "papermill", str(repo_path("notebooks", "01_oracle_matching.ipynb")),
         str(tmp_path / f"{name}.ipynb"), "-k", "python3", "-p", "scale", "smoke", "-p", "setting", "language",
         "-p", "results_dir", str(results), "-p", "figures_dir", str(tmp_path / f"figures-{name}")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "UNDO_STORE": str(store)})


def test_two_notebook_runs_on_one_store_match_one_run(tmp_path):
    """Notebook 01 twice at once on one store and one results directory, then once more alone: same tables."""
    store, together, alone = tmp_path / "store", tmp_path / "together", tmp_path / "alone"
    runs = [_notebook(tmp_path, f"run{i}", together, store) for i in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-2000:]
    assert _notebook(tmp_path, "alone", alone, store).wait(timeout=600) == 0
    assert len(list((store / "smoke").glob("pretrain-*/DONE"))) == 2  # reference and oracle, each trained once
    for table in ("fig2_models", "fig2_relearning", "fig2_distillation", "claims"):
        pd.testing.assert_frame_equal(pd.read_csv(together / f"{table}.csv"), pd.read_csv(alone / f"{table}.csv"))


def test_the_install_hands_pips_indexes_to_uv(tmp_path):
    """run_all.sh reads pip's configuration for uv: indexes, find-links and constraints, one flag per value, the
    environment's value over the files'; without them, nothing (uv then reads PyPI alone)."""
    script = repo_path("run_all.sh").read_text()
    reader = script.split("<<'PY' || true\n", 1)[1].split("\nPY\n", 1)[0]
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://example.org/simple\nextra-index-url = file:///a file:///b\n"
                    "find-links = /files\nconstraint = /c.txt\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")},  # this machine's files aside
           "XDG_CONFIG_DIRS": str(tmp_path), "HOME": str(tmp_path)}

    def args(**extra):
        out = subprocess.run([sys.executable, "-c", reader], env={**env, **extra}, capture_output=True,
                             text=True, check=True).stdout
        return out.split("\0")[:-1]
    assert args(PIP_CONFIG_FILE=str(conf), PIP_FIND_LINKS="/env-files") == [
        "--index-url", "https://example.org/simple", "--extra-index-url", "file:///a", "--extra-index-url",
        "file:///b", "--find-links", "/env-files", "--constraint", "/c.txt"]
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    assert args(PIP_CONFIG_FILE=str(empty)) == []
