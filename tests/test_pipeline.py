"""The recipes at scale smoke: stages cached and keyed by their parents, attacks, UNDO, the comparison."""
import json
import math
import os

import pandas as pd
import pytest

from undo_lib.execute import teacher_outputs
from undo_lib.objectives import make_objective
from undo_lib.pipeline import Experiment
from undo_lib.results import final_metrics
from undo_lib.store import config_key


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
    attack = exp.found(exp.attack_specs(ref))
    items = attack.items  # per-item grades beside the curves: what the claims' intervals resample
    assert {k[2] for k in items} == {"retain", "forget"} and len(items) == len(attack.metrics)
    for (lr, step, metric), scores in items.items():
        value = first[(first.lr == lr) & (first.step == step) & (first.metric == metric)].value.item()
        assert len(scores) == len(exp.evaluator.sets[metric]["input_ids"]) and abs(scores.mean() - value) < 1e-5
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
    assert set(lean.key) != set(full.key) and all((tmp_path / f"relearn-{k}" / "DONE").exists() for k in full.key)
    forget = lambda t: t[t.metric == "forget"].drop(columns="key").reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(forget(lean), forget(full))  # grading does not change the attack
    exp.relearn({"Reference": ref}, forget_only=False)
    assert exp.relearn({"Reference": ref}).metric.eq("retain").sum() > len(exp.preset.attack.lrs)
    assert len(list(tmp_path.glob("relearn-*/DONE"))) == 3  # the fully graded attack served the lean request


def test_paper_scale_fails_clearly_without_the_hub(offline):
    exp = Experiment("paper", "language", 0)
    with pytest.raises(RuntimeError, match="Hugging Face hub"):
        exp.tokenizer


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
            assert retain.index[-1] == math.ceil(exp.undo_cap_steps)  # ran to the cap: one epoch of rows
    assert exp.undo_recovered(runs) == {a: bool(r.metrics.query("metric == 'retain'").value.iloc[-1] <= target * 1.05)
                                        for a, r in runs.items()}
    start = {a: r.metrics.query("step == 0 and metric == 'retain'")["value"].item() for a, r in runs.items()}
    assert abs(start[0.0] - target) < 1e-4 and start[0.0] < start[0.5] < start[1.0]
    assert runs[0.0].metrics.step.max() == 2  # already recovered: stops at its first evaluation
    spec = exp.undo_spec(teacher, 0.5, 0.1, eval_every=2)  # the students shared the teacher's outputs:
    outputs = teacher_outputs(spec, make_objective("forward_kl"), exp.setting)  # one entry per step taken
    assert len(outputs) == max(r.metrics.step.max() for r in runs.values())


def test_method_comparison_reuses_the_cached_runs(tmp_path):
    """Section 6's points at smoke: the sweeps' chosen rate and its neighbours, the baselines at MaxEnt's chosen
    rate, UNDO from MaxEnt's chosen model at every retain threshold; a second call trains nothing."""
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    c = exp.preset.compare
    models = exp.method_comparison()
    assert set(models) == {"grad_diff", "max_ent", "rmu", "npo", "simnpo", "sam", "rep_noise", "undial", "undo"}
    maxent = exp.unlearn_sweep("max_ent")
    lr = exp.choose(maxent)
    assert maxent[lr] in models["max_ent"].values() and len(models["max_ent"]) == c.sweep_points
    assert [a.config["sam_rho"] for a in models["sam"].values()] == list(c.sam_rhos)
    assert all(a.config["train"]["lr"] == lr for a in models["rep_noise"].values())
    undo = list(models["undo"].values())
    assert all(a.config["teacher"] == maxent[lr].key for a in undo)
    assert [a.config["stop"]["tolerance"] for a in undo] == list(c.undo_tolerances)
    before = sorted(p.name for p in tmp_path.glob("*-*"))
    again = exp.method_comparison()
    assert len(before) > 15 and sorted(p.name for p in tmp_path.glob("*-*")) == before
    assert {m: {k: a.key for k, a in v.items()} for m, v in again.items()} == \
        {m: {k: a.key for k, a in v.items()} for m, v in models.items()}


def test_store_keys_do_not_depend_on_compiling(tmp_path, monkeypatch):
    """UNDO_COMPILE decides how a stage runs, never what it is: every stage's key is the same either way."""
    keys = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("UNDO_COMPILE", flag)
        exp = Experiment("smoke", "arithmetic", 0, store_root=tmp_path)
        config = exp.pretrain_spec("reference").config()
        keys[flag] = (config_key(config), exp.distill_spec(exp.pretrain("oracle")).key)
    assert keys["0"] == keys["1"]
    assert "compile" not in json.dumps(config).lower()



def test_table12_adversaries_relearn_on_their_data_after_their_damage(tmp_path):
    """The stand-in's adversaries: a plain attack keeps its store key; a long one trains on 4x longer rows; an "sp-"
    one grades, at step 0, the shrunk model (alpha 0.05), not the stored one."""
    import copy
    from undo_lib.noise import shrink_perturb
    from undo_lib.wmdp import ADVERSARIES
    reference = Experiment("smoke", "arithmetic", 0, store_root=tmp_path).pretrain("reference")
    exp = Experiment("smoke", "wmdp", 0, store_root=tmp_path)
    by_name = {a.name: a for a in ADVERSARIES}
    picked = [by_name[n] for n in ("forget/retain-qa", "forget/retain-long", "sp-forget/retain-qa")]
    specs = exp.adversary_specs({"Reference": reference}, picked)
    plain, long, damaged = (specs[a.name]["Reference"] for a in picked)
    assert plain.shrink_perturb is None and "shrink_perturb" not in plain.config()
    assert plain.mixture_spec["seq_len"] == 64 and long.mixture_spec["seq_len"] == 256 and long.mixture == "forget/retain"
    tokens = exp.preset.attack.batch_size * exp.preset.seq_len  # every adversary's step reads the attack's tokens
    assert plain.attack.batch_size * 64 == tokens and long.attack.batch_size == max(1, tokens // 256)
    assert plain.attack.lrs == exp.preset.attack.lrs and plain.attack.steps == exp.preset.attack.steps
    text = exp.tokenizer.decode(exp.setting.mixture("forget/retain-qa", 64).batch(0, 4, 0)["input_ids"][0])
    assert "\nAnswer: " in text  # a row holds a whole question and its answer
    assert damaged.config()["shrink_perturb"] == {"alpha": 0.05, "beta": 0.0, "seed": 0}
    assert damaged.key != plain.key and damaged.mixture_spec == plain.mixture_spec
    attacks = exp.train(specs, "adversaries")
    start = {n: a["Reference"].metrics.query("step == 0 and metric == 'forget'").value.iloc[0]
             for n, a in attacks.items()}
    shrunk = shrink_perturb(copy.deepcopy(reference.model()), 0.05, 0.0, 0)
    assert start["sp-forget/retain-qa"] == pytest.approx(exp.evaluator(shrunk)["forget"])
    assert start["forget/retain-qa"] == pytest.approx(exp.evaluator(reference.model())["forget"])


def test_section6_sweeps_retain_weight_and_rate_from_the_pretrained_model(tmp_path):
    from undo_lib.wmdp import STAND_IN_AS, retain_weight
    reference = Experiment("smoke", "arithmetic", 0, store_root=tmp_path).pretrain("reference")
    exp = Experiment("smoke", "wmdp", 0, store_root=tmp_path)
    specs = exp.section6_sweep_specs("max_ent_kl", reference)
    assert len(specs) == len(STAND_IN_AS) * 2 and {a for a, _ in specs} == set(STAND_IN_AS)
    a, lr = 0.3, 1e-3
    assert specs[(a, lr)].objective_params["alpha"] == pytest.approx(retain_weight(a))
    assert specs[(a, lr)].teacher.key == reference.key  # the retain KL reads the frozen start
    unlearned = exp.train(specs[(a, lr)])
    last = unlearned.metrics.query("metric in ('retain', 'forget')").groupby("metric").value.last()
    assert set(last.index) == {"retain", "forget"} and ((last >= 0) & (last <= 1)).all()
    rmu = exp.section6_sweep_specs("rmu_section6", reference)[(0.5, 1e-3)]
    assert rmu.objective_params["alpha"] == pytest.approx(200.0) and rmu.trainable
    with pytest.raises(ValueError, match="Section 6's methods"):
        exp.section6_sweep_specs("max_ent", reference)
    picks = pd.DataFrame({"retain_kept": [0.9, 0.5, 0.2]}, index=pd.MultiIndex.from_tuples(
        [(0.75, 1e-3), (0.3, 1e-4), (0.1, 1e-3)], names=["a", "lr"]))
    baselines = exp.section6_baseline_specs(picks, reference)  # SAM and RepNoise at MaxEnt's top two points
    assert set(baselines) == {"sam_section6", "rep_noise_section6"}
    sam, rep_noise = baselines["sam_section6"], baselines["rep_noise_section6"]
    assert list(sam) == ["a=0.75 lr=0.001", "a=0.3 lr=0.0001"]
    assert sam["a=0.75 lr=0.001"].sam_rho == 0.01 and sam["a=0.75 lr=0.001"].objective_params["alpha"] == pytest.approx(3.0)
    assert sam["a=0.3 lr=0.0001"].train.lr == 1e-4 and sam["a=0.3 lr=0.0001"].objective == "max_ent_kl"
    point = rep_noise["a=0.75 lr=0.001"]
    assert point.objective == "rep_noise" and point.objective_params["retain_weight"] == pytest.approx(3.0)
    assert point.objective_params["alpha"] == 1.0 and point.init.artifact.key == reference.key


def test_finetuning_starts_from_the_base_and_the_distilled_student_too(tmp_path):
    from undo_lib.stages import From
    base = Experiment("smoke", "language", 0, store_root=tmp_path).pretrain("reference")
    exp = Experiment("smoke", "tofu", 0, store_root=tmp_path)
    spec = exp.finetune_spec(base)
    assert spec.kind == "pretrain" and spec.init == From(base) and spec.mixture == "reference"
    assert exp.finetune_spec(base, "oracle").mixture == "oracle"
    with pytest.raises(ValueError, match="finetune"):
        exp.finetune_spec(base, "retain")
    student = exp.distill_spec(base, init=base)  # Appendix F: the unlearned model distilled back into the base
    assert student.init == From(base) and student.mixture == "reference"
