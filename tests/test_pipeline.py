"""The cached stages, the store, parameter validation and the claims table, at scale smoke."""
import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from undo_lib import claims
from undo_lib.pipeline import Experiment, final_metrics
from undo_lib.scales import check_params
from undo_lib.store import config_key, upsert_csv


@pytest.mark.parametrize("scale, seed, setting, name", [("laptop", 0, "both", "scale"), ("cpu", -1, "both", "seed"),
                                                        ("cpu", 1.5, "both", "seed"), ("cpu", 0, "korean", "setting")])
def test_bad_notebook_parameters_are_named(scale, seed, setting, name):
    with pytest.raises(ValueError, match=f"parameter '{name}' must be"):
        check_params(scale, seed, setting)


def test_check_params_expands_both():
    assert check_params("smoke", 0, "both") == ["arithmetic", "language"]
    assert check_params("paper", 3, "language") == ["language"]


def test_config_key_is_stable_and_sensitive():
    a = {"kind": "pretrain", "train": {"lr": 1e-3, "steps": 10}}
    assert config_key(a) == config_key({"train": {"steps": 10, "lr": 1e-3}, "kind": "pretrain"})
    assert config_key(a) != config_key({"kind": "pretrain", "train": {"lr": 2e-3, "steps": 10}})


def test_upsert_replaces_rows_with_the_same_keys(tmp_path):
    path = tmp_path / "t.csv"
    upsert_csv(pd.DataFrame({"k": [1, 2], "v": ["a", "b"]}), path, ["k"])
    out = upsert_csv(pd.DataFrame({"k": [2, 3], "v": ["B", "c"]}), path, ["k"])
    assert sorted(zip(out.k, out.v)) == [(1, "a"), (2, "B"), (3, "c")]


def test_stages_are_cached_and_keyed_by_their_parents(tmp_path):
    exp = Experiment("smoke", "arithmetic", 0, store_root=tmp_path)
    ref = exp.pretrain("reference")
    mtime = os.path.getmtime(ref.path / "DONE")
    again = Experiment("smoke", "arithmetic", 0, store_root=tmp_path).pretrain("reference")
    assert again.key == ref.key and os.path.getmtime(again.path / "DONE") == mtime  # reused, not retrained
    oracle = exp.pretrain("oracle")
    assert oracle.key != ref.key
    student = exp.distill(oracle, init="random")
    assert student.config["teacher"] == oracle.key and student.config["init"]["random"] != oracle.config["init"]["random"]
    assert exp.distill(oracle, init=ref).key != student.key
    other_seed = Experiment("smoke", "arithmetic", 1, store_root=tmp_path).pretrain("reference")
    assert other_seed.key != ref.key
    table = final_metrics({"ref": ref, "oracle": oracle})
    assert set(table.columns) >= {"loss", "retain", "forget"}


def test_relearning_results_are_cached(tmp_path):
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    ref = exp.pretrain("reference")
    first = exp.relearn({"Reference": ref})
    assert set(first.model) == {"Reference"} and set(first.metric) == {"retain", "forget"}
    assert first.step.max() == exp.preset.attack.steps
    assert len(list(tmp_path.glob("relearn-*/DONE"))) == 1
    pd.testing.assert_frame_equal(exp.relearn({"Reference": ref}), first)
    assert 0 < exp.attack_passes()


def test_forget_only_attack_grades_retain_at_the_start_and_reuses_a_full_attack(tmp_path):
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    ref, oracle = exp.pretrain("reference"), exp.pretrain("oracle")
    lean = exp.relearn({"Oracle": oracle})
    assert set(lean[lean.step == 0].metric) == {"retain", "forget"}
    assert set(lean[lean.step > 0].metric) == {"forget"}
    full = exp.relearn({"Oracle": oracle}, forget_only=False)  # a different artifact: grading retain throughout was asked for
    assert len(list(tmp_path.glob("relearn-*/DONE"))) == 2
    forget = lambda t: t[t.metric == "forget"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(forget(lean), forget(full))  # grading does not change the attack
    exp.relearn({"Reference": ref}, forget_only=False)
    assert exp.relearn({"Reference": ref}).metric.eq("retain").sum() > len(exp.preset.attack.lrs)
    assert len(list(tmp_path.glob("relearn-*/DONE"))) == 3  # the fully graded attack served the lean request


def test_paper_scale_fails_clearly_without_the_hub(offline):
    exp = Experiment("paper", "language", 0)
    with pytest.raises(RuntimeError, match="Hugging Face hub"):
        exp.tokenizer


def test_claim_c1_and_the_claims_table(tmp_path):
    rows = []
    for model, slope in (("Student (Reference)", 0.9), ("Student (Random)", 0.3), ("Oracle", 0.2)):
        for lr, scale in ((1e-3, 1.0), (1e-4, 0.5)):
            rows += [{"model": model, "lr": lr, "step": s, "metric": "forget", "value": min(1, slope * scale * s / 10)}
                     for s in range(0, 11, 5)]
    curves = pd.DataFrame(rows)
    holds, detail = claims.oracle_matching_not_robust(curves, higher_is_better=True)
    assert holds and "Student (Reference) 0.450 (0.900)" in detail
    # as cross-entropy (lower is better) the same numbers mean the reference student relearns slowest
    assert not claims.oracle_matching_not_robust(curves, higher_is_better=False)[0]
    claims.record(tmp_path, "C1", "arithmetic", "smoke", 0, holds, detail)
    claims.record(tmp_path, "C1", "arithmetic", "smoke", 0, False, "rerun")
    claims.record(tmp_path, "C1", "language", "smoke", 0, True, "x")
    table = claims.table(tmp_path, "C1", "smoke")
    assert table[["setting", "holds", "detail"]].values.tolist() == [["arithmetic", False, "rerun"],
                                                                      ["language", True, "x"]]


def test_claim_c2_needs_every_method_and_both_measures():
    """Accuracy curves rising with slope a per step: U&D must be below Unlearn in auc and at the end, per method."""
    def curve(method, model, slopes):
        return [{"method": method, "model": model, "lr": lr, "step": s, "metric": "forget", "value": a * s}
                for lr, a in zip((1e-3, 1e-4), slopes) for s in range(0, 11, 5)]
    rows = (curve("grad_diff", "Unlearn", (0.05, 0.01)) + curve("grad_diff", "Unlearn-and-Distill", (0.02, 0.01))
            + curve("max_ent", "Unlearn", (0.05, 0.01)) + curve("max_ent", "Unlearn-and-Distill", (0.01, 0.04)))
    holds, detail = claims.distillation_robustifies(pd.DataFrame(rows), higher_is_better=True)
    assert holds and "GradDiff yes: U&D 0.100 (0.200) vs Unlearn 0.250 (0.500)" in detail
    rows += curve("rmu", "Unlearn", (0.03, 0.0)) + curve("rmu", "Unlearn-and-Distill", (0.04, 0.0))
    holds, detail = claims.distillation_robustifies(pd.DataFrame(rows), higher_is_better=True)
    assert not holds and "RMU NO" in detail and "MaxEnt yes" in detail


@pytest.mark.parametrize("method", ["grad_diff", "max_ent", "rmu"])
def test_unlearning_moves_forget_more_than_retain(tmp_path, method):
    """At smoke, one constant-rate run per method: the forget loss of the (language) reference rises more than the
    retain loss; RMU changes only the MLP down-projections of its layers."""
    import torch
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    ref = exp.pretrain("reference")
    lr = 3e-2 if method == "rmu" else 3e-3  # RMU moves one tiny projection
    run = exp.unlearn(method, lr)
    assert run.config["init"] == ref.key and run.config["train"]["schedule"] == "constant"
    m = run.metrics.pivot_table(index="step", columns="metric", values="value")
    first, last = m.iloc[0], m.iloc[-1]
    forget_rise, retain_rise = last["forget"] - first["forget"], max(last["retain"] - first["retain"], 0)
    assert forget_rise > 0.02 and forget_rise > 3 * retain_rise, m
    before, after = ref.model().state_dict(), run.model().state_dict()
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    if method == "rmu":
        assert changed == set(run.config["trainable"]) == {"model.layers.0.mlp.down_proj.weight"}
        assert run.config["teacher"] == ref.key
    else:
        assert len(changed) > 10 and run.config["teacher"] is None
    assert exp.unlearn(method, lr).key == run.key
    with pytest.raises(ValueError, match="unlearning method"):
        exp.unlearn("gradient_ascent", 1e-3)


def test_readme_claims_table_is_regenerated_between_its_markers(tmp_path):
    claims.record(tmp_path, "C2", "language", "cpu", 1, False, "U&D 3.1 vs Unlearn 3.4")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{claims.README_START.format(scale='cpu')}\nold table\n{claims.README_END}\nrest\n")
    assert claims.update_readme(readme, tmp_path, "cpu")
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert "| C2 | language | cpu | 1 | **no** | U&D 3.1 vs Unlearn 3.4 |" in text
    assert not claims.update_readme(readme, tmp_path, "gpu")  # no markers for that scale


def test_undo_noises_the_teacher_and_distills_until_recovered(tmp_path):
    """UNDO at smoke: the student starts from the shrunk-and-perturbed teacher (so it starts far from it, and
    further at larger alpha) and training stops once retain is within 5% of the teacher's, or at the cap."""
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    teacher = exp.unlearn("max_ent", 1e-3)
    target = final_metrics({"t": teacher}).loc["t", "retain"]
    runs = {a: exp.undo(teacher, a, 0.1, eval_every=2) for a in (0.0, 0.5, 1.0)}
    for alpha, run in runs.items():
        assert run.config["init"] == {"noised": teacher.key, "alpha": alpha, "beta": 0.1, "seed": 0}
        assert set(run.metrics.metric) == {"loss", "retain"}  # only retain is graded while it distills
        m = run.metrics.pivot_table(index="step", columns="metric", values="value")
        retain = m["retain"].dropna()
        if retain.iloc[-1] <= target * 1.05:  # stopped at the first evaluation that recovered
            assert (retain.iloc[1:-1] > target * 1.05).all()
        else:
            assert retain.index[-1] == exp.preset.pretrain.steps  # ran to the cap
    start = {a: r.metrics.query("step == 0 and metric == 'retain'")["value"].item() for a, r in runs.items()}
    assert abs(start[0.0] - target) < 1e-4 and start[0.0] < start[0.5] < start[1.0]
    assert runs[0.0].metrics.step.max() == 2  # already recovered: stops at its first evaluation
    seen, outputs = exp._shared_teacher  # the students shared the teacher's outputs: one entry per step taken
    assert seen[0] == teacher.key and len(outputs) == max(r.metrics.step.max() for r in runs.values())


@pytest.mark.parametrize("method, params", [("sam", {"rho": 0.05}), ("rep_noise", {}), ("undial", {})])
def test_robust_baselines_run_as_unlearning_stages(tmp_path, method, params):
    """SAM is MaxEnt with sharpness-aware steps; UNDIAL distills from the frozen reference; each is its own key."""
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    ref = exp.pretrain("reference")
    run = exp.unlearn(method, 3e-3, **params)
    assert run.config["objective"] == ("max_ent" if method == "sam" else method)
    assert run.config.get("sam_rho") == params.get("rho")
    assert run.config["teacher"] == (ref.key if method == "undial" else None)
    m = run.metrics.pivot_table(index="step", columns="metric", values="value")
    assert m["forget"].iloc[-1] > m["forget"].iloc[0]  # the forget loss rose
    if method == "sam":
        assert run.key != exp.unlearn("max_ent", 3e-3).key


def test_pareto_front_and_claim_c5():
    acc = pd.DataFrame({"method": ["undo", "undo", "undo", "sam", "sam"],
                        "retain": [0.8, 0.7, 0.6, 0.65, 0.85], "forget": [0.2, 0.1, 0.15, 0.12, 0.3]})
    front = claims.pareto_front(acc[acc.method == "undo"], higher_is_better=True)
    assert front[["retain", "forget"]].values.tolist() == [[0.7, 0.1], [0.8, 0.2]]  # (0.6, 0.15) is dominated
    holds, detail = claims.undo_not_dominated(acc, higher_is_better=True)
    assert holds and "no baseline point" in detail
    beaten = pd.concat([acc, pd.DataFrame({"method": ["rmu"], "retain": [0.75], "forget": [0.05]})])
    holds, detail = claims.undo_not_dominated(beaten, higher_is_better=True)
    assert not holds and "rmu (0.75, 0.05) over (0.7, 0.1)" in detail
    # cross-entropy: lower retain loss and higher forget loss are better for the defender
    ce = pd.DataFrame({"method": ["undo", "undial"], "retain": [2.0, 1.9], "forget": [5.0, 5.5]})
    assert not claims.undo_not_dominated(ce, higher_is_better=False)[0]


def test_fig7_draws_every_stage_and_frontier(tmp_path):
    from undo_lib import plots
    rows = [{"method": m, "stage": st, "retain": r, "forget": f}
            for st in ("before attack", "after a long attack")
            for m, r, f in (("undo", 0.8, 0.1), ("undo", 0.7, 0.05), ("sam", 0.75, 0.3), ("data_filtering", 0.8, 0.02))]
    fig = plots.fig7(pd.DataFrame(rows), "arithmetic", True, tmp_path)
    assert len(fig.axes) == 2 and (tmp_path / "fig7_arithmetic.png").exists() and (tmp_path / "fig7_arithmetic.pdf").exists()
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"UNDO", "SAM", "Data Filtering"}


def test_stage_points_read_the_worst_case_before_short_and_long():
    """Fig 7's points: retain before the attack; forget = the best attacker's value at step 0, at the first graded
    step at or after the short attack, and at the end, compared with a brute-force loop over the curves."""
    from undo_lib.results import stage_points
    rng = np.random.default_rng(0)
    rows = [dict(method=m, model=f"p{k}", lr=lr, step=step, metric=metric, value=float(rng.random()))
            for m in ("max_ent", "undo") for k in range(2) for lr in (1e-3, 1e-4) for step in (0, 10, 20, 30)
            for metric in ("retain", "forget")]
    curves = pd.DataFrame(rows)
    curves.loc[(curves.metric == "retain") & (curves.step == 0), "value"] = 0.5  # every rate starts from one model
    for higher in (True, False):
        pts = stage_points(curves, short_step=15, higher_is_better=higher).set_index(["method", "model", "stage"])
        for (m, model), g in curves.groupby(["method", "model"]):
            for stage, step in (("before", 0), ("short", 20), ("long", 30)):
                vals = g[(g.metric == "forget") & (g.step == step)].value
                assert pts.loc[(m, model, stage), "step"] == step
                assert pts.loc[(m, model, stage), "forget"] == (vals.max() if higher else vals.min())
                assert pts.loc[(m, model, stage), "retain"] == 0.5


def test_method_comparison_reuses_the_cached_runs(tmp_path):
    """Section 6's points at smoke: the sweeps' chosen rate and its neighbours, the baselines at MaxEnt's chosen
    rate, UNDO from MaxEnt's chosen model at every retain threshold; a second call trains nothing."""
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    c = exp.preset.compare
    models = exp.method_comparison()
    assert set(models) == {"grad_diff", "max_ent", "rmu", "sam", "rep_noise", "undial", "undo"}
    maxent = exp.unlearn_sweep("max_ent")
    lr = exp.choose(maxent)
    assert maxent[lr] in models["max_ent"].values() and len(models["max_ent"]) == c.sweep_points
    assert [a.config["sam_rho"] for a in models["sam"].values()] == list(c.sam_rhos)
    assert all(a.config["train"]["lr"] == lr for a in models["rep_noise"].values())
    undo = list(models["undo"].values())
    assert all(a.config["teacher"] == maxent[lr].key for a in undo)
    assert [a.config["stop"]["tolerance"] for a in undo] == list(c.undo_tolerances)
    before = sorted(p.name for p in tmp_path.glob("smoke/*"))
    again = exp.method_comparison()
    assert sorted(p.name for p in tmp_path.glob("smoke/*")) == before
    assert {m: {k: a.key for k, a in v.items()} for m, v in again.items()} == \
        {m: {k: a.key for k, a in v.items()} for m, v in models.items()}


def test_side_by_side_attacks_match_one_after_the_other(tmp_path, monkeypatch):
    from undo_lib import parallel
    curves = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("UNDO_WORKERS", workers)
        exp = Experiment("smoke", "language", 0, store_root=tmp_path / workers)
        models = {"Reference": exp.pretrain("reference"), "Oracle": exp.pretrain("oracle")}
        curves[workers] = exp.relearn(models)
    pd.testing.assert_frame_equal(curves["1"], curves["2"], atol=1e-4)  # worker processes run one thread each
    with pytest.raises(ValueError, match="unlearning method must be one of"):  # a worker's error reaches the caller
        parallel.run([parallel.Call(exp, "unlearn", ("forgetting", 1e-3), f"call {i}") for i in range(2)])


def test_side_by_side_trains_both_settings_stages_in_one_batch(tmp_path, monkeypatch):
    """The stages of every setting's call are gathered and run in one batch; a stage that needs another stage of
    the same call (the student needs its oracle) is trained afterwards, in the usual way."""
    from undo_lib import parallel
    monkeypatch.setenv("UNDO_WORKERS", "2")
    batches, run = [], parallel.run

    def spy(calls, desc=""):
        if not parallel.gathering():
            batches.append(list(calls))
        return run(calls, desc)
    monkeypatch.setattr(parallel, "run", spy)
    experiments = {s: Experiment("smoke", s, 0, store_root=tmp_path) for s in ("arithmetic", "language")}
    got = parallel.side_by_side(experiments, lambda s, e: {
        "Reference": e.pretrain("reference"), "Student": e.distill(e.pretrain("oracle"), init="random")})
    first = batches[0]
    assert len(first) == 4 and {c.method for c in first} == {"run_stage"} and all(c.cost > 0 for c in first)
    assert {c.args[0]["mixture_name"] for c in first} == {"reference", "oracle"}
    for s, e in experiments.items():
        assert got[s]["Reference"].key == e.pretrain("reference").key
        assert got[s]["Student"].config["teacher"] == e.pretrain("oracle").key
    assert parallel.side_by_side(experiments, lambda s, e: e.pretrain("oracle"))["language"].key == \
        experiments["language"].pretrain("oracle").key and not parallel.gathering()


def test_an_interrupt_stops_the_workers(tmp_path, monkeypatch):
    """Ctrl-C (the notebook's stop button) during a batch stops the worker processes, not only the notebook's wait."""
    from undo_lib import parallel
    monkeypatch.setenv("UNDO_WORKERS", "2")
    exp, running = Experiment("smoke", "language", 0, store_root=tmp_path), []

    def interrupted(futures, **kw):
        running.extend(parallel._pool._processes.values())
        raise KeyboardInterrupt
    monkeypatch.setattr(parallel, "as_completed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        parallel.run([parallel.Call(exp, "pretrain", (w,), w) for w in ("reference", "oracle")])
    assert running and parallel._pool is None
    deadline = time.time() + 30  # the executor's own thread may be reaping them at the same moment: poll
    while any(p.is_alive() for p in running) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(p.is_alive() for p in running)


def test_store_keys_do_not_depend_on_compiling(tmp_path, monkeypatch):
    """UNDO_COMPILE decides how a stage runs, never what it is: every stage's key is the same either way."""
    keys = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("UNDO_COMPILE", flag)
        exp = Experiment("smoke", "arithmetic", 0, store_root=tmp_path)
        config = exp.pretrain_config("reference")
        keys[flag] = (config_key(config), config_key(exp.distill_config(exp.pretrain("oracle"))))
    assert keys["0"] == keys["1"]
    assert "compile" not in json.dumps(config).lower()
