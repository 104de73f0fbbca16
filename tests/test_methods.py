"""The method registry, and each registered method run as an unlearning stage at scale smoke."""
import pytest

from undo_lib.methods import METHODS, display_name, group, method
from undo_lib.pipeline import Experiment


def test_the_registry_groups_the_papers_methods_and_the_extras():
    assert group("unlearning") == ("grad_diff", "max_ent", "rmu")
    assert group("extra") == ("npo", "simnpo")
    assert group("baseline") == ("sam", "rep_noise", "undial")
    assert [display_name(m) for m in group("extra")] == ["NPO", "SimNPO"]
    assert display_name("undo") == "UNDO" and display_name("something else") == "something else"
    assert group("section6") == ("max_ent_kl", "rmu_section6")
    assert [display_name(m) for m in group("section6")] == ["MaxEnt", "RMU"]
    assert [display_name(m) for m in group("section6_baseline")] == ["SAM", "RepNoise"]
    for m in (method(name) for name in group("unlearning", "extra", "baseline")):
        for scale in ("smoke", "cpu", "gpu", "paper"):
            for setting in ("arithmetic", "language"):
                assert set(m.params) == {"arithmetic", "language"}
                if m.group != "baseline":
                    assert len(m.sweep(scale, setting)) >= 2


def test_bad_methods_and_hyperparameters_are_named():
    with pytest.raises(ValueError, match="unknown unlearning method 'npo2'"):
        method("npo2")
    with pytest.raises(ValueError, match="has no hyperparameter"):
        method("npo").hyperparameters("language", None, 0, temperature=2.0)
    with pytest.raises(ValueError, match="no learning-rate sweep"):
        method("sam").sweep("cpu", "language")


def test_rmu_trains_the_down_projections_of_its_layers_in_the_papers_proportion():
    from undo_lib.methods import rmu_layers
    assert rmu_layers(14) == (5, 11) and rmu_layers(4) == (1, 2) and rmu_layers(2) == (0, 0)


@pytest.mark.parametrize("method", ["grad_diff", "max_ent", "rmu", "npo", "simnpo"])
def test_unlearning_moves_forget_more_than_retain(tmp_path, method):
    """At smoke, one constant-rate run per method: the forget loss of the (language) reference rises more than the
    retain loss; RMU changes only the MLP down-projections of its layers."""
    import torch
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    ref = exp.pretrain("reference")
    lr = {"rmu": 3e-2, "simnpo": 3e-2}.get(method, 3e-3)  # RMU moves one tiny projection; SimNPO's push is gentle
    run = exp.unlearn(method, lr)
    assert run.config["init"] == ref.key and run.config["train"]["schedule"] == "constant"
    m = run.metrics.pivot_table(index="step", columns="metric", values="value")
    first, last = m.iloc[0], m.iloc[-1]
    forget_rise, retain_rise = last["forget"] - first["forget"], max(last["retain"] - first["retain"], 0)
    assert forget_rise > 0.02 and forget_rise > 3 * retain_rise, m
    before, after = ref.model().state_dict(), run.model().state_dict()
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    if method == "rmu":  # its projection ends at its starting norm; the stored model grades as the last step did
        name = "model.layers.0.mlp.down_proj.weight"
        assert changed == set(run.config["trainable"]) == {name} and run.config["restore_norms"]
        assert after[name].norm() == pytest.approx(float(before[name].norm()), rel=1e-5)
        graded = exp.setting.validation(run.model())
        assert graded["forget"] == pytest.approx(last["forget"], rel=1e-4), (graded, last)  # RMSNorm's eps
    else:
        assert len(changed) > 10
    assert run.config["teacher"] == (ref.key if method in ("rmu", "npo") else None)
    assert exp.unlearn(method, lr).key == run.key
    with pytest.raises(ValueError, match="unknown unlearning method"):
        exp.unlearn("gradient_ascent", 1e-3)


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
