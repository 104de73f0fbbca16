"""Appendix F's protocol, Table 14 and claims C6 and C7 on synthetic grades; the paper's configuration."""
import numpy as np
import pandas as pd
import pytest

from undo_lib import post_training
from undo_lib.claims import worst_case_summary
from undo_lib.results import item_scores

from test_claims import _attacks  # synthetic attacks with per-item grades


def test_c7_measures_how_much_nearer_the_base_the_distilled_model_relearns():
    rng = np.random.default_rng(0)
    attacks, _ = _attacks(rng, {"Unlearn": 0.9, "Unlearn-and-Distill": 0.15, "Base": 0.1}, n=80)
    detail, interval = post_training.relearns_like_base(attacks)
    labels, _, steps, scores = item_scores(attacks)
    auc, final = worst_case_summary(scores.mean(-1)[None], steps, True)
    want = min(abs(m[0, 0] - m[0, 1]) - abs(m[0, 1] - m[0, 2]) for m in (auc, final))
    assert interval.effect == pytest.approx(want) and interval.verdict == "holds"
    assert "averaged over the attack" in detail and "Base" in detail
    attacks, _ = _attacks(rng, {"Unlearn": 0.9, "Unlearn-and-Distill": 0.85, "Base": 0.1}, n=80)
    assert post_training.relearns_like_base(attacks)[1].verdict == "fails"  # relearns like the unlearned model
    with pytest.raises(ValueError, match="C7: no Base"):
        post_training.relearns_like_base({k: v for k, v in attacks.items() if k != "Base"})


def test_c6_compares_what_int4_brings_back_in_each_model():
    rng = np.random.default_rng(1)
    n = 120
    items = {("Unlearn", "fp32"): rng.random(n) * 0.02, ("Unlearn", "int4"): rng.random(n) * 0.2,
             ("Unlearn-and-Distill", "fp32"): rng.random(n) * 0.02,
             ("Unlearn-and-Distill", "int4"): rng.random(n) * 0.03}
    detail, interval = post_training.quantization_recovers_less(items)
    means = {k: v.mean() for k, v in items.items()}
    want = (means[("Unlearn", "int4")] - means[("Unlearn", "fp32")]) - (
        means[("Unlearn-and-Distill", "int4")] - means[("Unlearn-and-Distill", "fp32")])
    assert interval.effect == pytest.approx(want) and interval.verdict == "holds"
    assert "INT4" in detail
    same = {**items, ("Unlearn-and-Distill", "int4"): items[("Unlearn", "int4")],
            ("Unlearn-and-Distill", "fp32"): items[("Unlearn", "fp32")]}
    assert post_training.quantization_recovers_less(same)[1].verdict == "inconclusive"  # no difference: not decided
    with pytest.raises(ValueError, match="C6"):
        post_training.quantization_recovers_less({})


def test_int4_rises_gives_each_models_rise_with_its_interval():
    rng = np.random.default_rng(2)
    n = 200
    gentle = rng.random(n) * 0.3
    items = {("gentle", "fp32"): gentle, ("gentle", "int4"): gentle + 0.1 + rng.normal(0, 0.05, n),
             ("strong", "fp32"): rng.random(n) * 0.02}
    items[("strong", "int4")] = items[("strong", "fp32")] + rng.normal(0, 0.01, n)
    table = post_training.int4_rises(items).set_index("model")
    assert table.loc["gentle", "rise"] == pytest.approx(items[("gentle", "int4")].mean() - gentle.mean())
    assert 0.08 < table.loc["gentle", "ci_low"] < table.loc["gentle", "rise"] < table.loc["gentle", "ci_high"] < 0.12
    assert table.loc["strong", "ci_low"] < 0 < table.loc["strong", "ci_high"]  # no rise: the interval holds zero
    assert list(table.columns) == ["fp32", "int4", "rise", "ci_low", "ci_high"]
    with pytest.raises(ValueError, match="INT4"):
        post_training.int4_rises({("gentle", "fp32"): gentle})


def test_table14_and_fig12_tables():
    grades = {("Unlearn", "fp32"): {"forget": 0.0, "forget_truth_ratio": 0.0, "model_utility": 0.5},
              ("Unlearn", "int4"): {"forget": 0.01, "forget_truth_ratio": 0.2, "model_utility": 0.25}}
    t = post_training.quantization_table(grades)
    assert list(t.columns) == ["model", "precision", "forget_qa_prob", "forget_truth_ratio", "model_utility"]
    assert t.forget_truth_ratio.tolist() == [0.0, 0.2]

    class Stage:
        def __init__(self, values):
            self.metrics = pd.DataFrame({"step": [0, 5, 5], "metric": ["forget", "forget", "loss"],
                                         "value": values})
    phases = post_training.phase_curves({p: Stage([0.1, 0.9, 3.0]) for p in post_training.PHASES})
    assert set(phases.phase) == set(post_training.PHASES) and "loss" not in set(phases.metric)
    with pytest.raises(ValueError, match="Fig 12: no distill"):
        post_training.phase_curves({"finetune": Stage([0, 1, 2]), "unlearn": Stage([0, 1, 2])})


def test_the_paper_configuration_and_its_offline_failure(offline):
    cfg = post_training.PAPER
    assert cfg.models == ("google/gemma-2-2b", "microsoft/phi-1_5") and cfg.relearn_steps == 100
    assert (cfg.forget_split, cfg.retain_split, cfg.holdout_split) == ("forget10", "retain90", "holdout10")
    with pytest.raises(RuntimeError, match="needs the Hugging Face hub.*locuslab/TOFU.*phi-1_5"):
        post_training.check_paper_inputs()
    post_training.check_scale("smoke")  # the stand-in needs nothing
    with pytest.raises(RuntimeError, match="Appendix F at scale 'paper'"):
        post_training.check_scale("gpu")
