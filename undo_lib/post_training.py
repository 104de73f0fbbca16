"""Appendix F: unlearning after post-training (TOFU, Figs 12-13) and the INT4 quantization attack (Table 14), with
claims C6 and C7 decided beyond noise (`clusters`: an author's questions resampled together).

The protocol (F.1): finetune a pretrained base on every TOFU author; unlearn the forget authors with GradDiff;
distill the unlearned model back into the base on the full TOFU data; attack for 100 steps the unlearned model, the
distilled one and the base that never saw TOFU. At scale `paper` this is Gemma-2-2B and Phi-1.5 on the hub's TOFU
(forget10 / retain90 / holdout10) through OpenUnlearning's metrics; at scales smoke and cpu the language reference is
the base and the authors are made up (data.biographies), graded by the same metrics (undo_lib.tofu).

C6, "quantization recovers less after distillation" (Table 14): INT4 raises the forget Q&A probability of the
unlearned model more than that of the unlearned-and-distilled one. C7, "the distilled model relearns closer to the
base than to the unlearned model" (Fig 13): under the worst-case attack, the distilled model's forget Q&A
probability is nearer the base's than the unlearned model's, averaged over the attack and at its end.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .claims import _require, worst_case_summary
from .data.hub import require, stand_in_only
from .quantize import int4
from .results import item_scores
from .stats import Interval, paired_bootstrap

PHASES = ("finetune", "unlearn", "distill")  # Fig 12's three panels
# The metrics drawn in Figs 12 and 13, named as OpenUnlearning names them (tofu.py's keys on the left).
METRIC_NAMES = {"forget": "forget Q&A prob", "forget_rouge": "forget Q&A ROUGE", "forget_truth_ratio":
                "forget truth ratio", "forget_extraction": "extraction strength", "forget_mia_auc": "MIA (min-k AUC)",
                "model_utility": "model utility", "retain": "retain Q&A prob"}
# Fig 13's light lines: forget metrics that grow with what the model knows of the forget authors (the truth ratio
# does not: it is low both for a model that knows the answer and for one pushed to prefer wrong ones).
KNOWLEDGE = ("forget", "forget_rouge", "forget_extraction", "forget_mia_auc")


@dataclass(frozen=True)
class TofuCfg:
    """Appendix F as the paper runs it, through OpenUnlearning: TOFU's splits, its two models, GradDiff, the relearning
    attack's 100 steps, INT4 weights."""
    dataset: str = "locuslab/TOFU"
    forget_split: str = "forget10"
    retain_split: str = "retain90"
    holdout_split: str = "holdout10"
    models: tuple = ("google/gemma-2-2b", "microsoft/phi-1_5")
    method: str = "GradDiff"
    relearn_steps: int = 100
    quantization: str = "int4"


PAPER = TofuCfg()


def check_paper_inputs(cfg: TofuCfg = PAPER) -> None:
    """Scale paper reads TOFU and the two models from the Hugging Face hub: raise at once, naming them, when the hub
    does not serve them."""
    require([(cfg.dataset, "dataset")] + [(m, "model") for m in cfg.models], "Appendix F at scale 'paper'")


def check_scale(scale: str) -> None:
    """Notebook 06 at a scale: the stand-in at smoke and cpu; at gpu and paper the real experiment (data.hub)."""
    stand_in_only(scale, check_paper_inputs, "notebook 06 (Gemma-2-2B and Phi-1.5 on TOFU)")


def phase_curves(stages: dict) -> pd.DataFrame:
    """Fig 12's table: {phase: Artifact} (finetune, unlearn, distill) -> tidy (phase, step, metric, value) of each
    stage's training curves (validation split), losses left out."""
    _require(PHASES, list(stages), "Fig 12")
    frames = [stages[p].metrics.query("metric != 'loss'").assign(phase=p) for p in PHASES]
    return pd.concat(frames, ignore_index=True)[["phase", "step", "metric", "value"]]


def quantization_table(grades: dict) -> pd.DataFrame:
    """Table 14: {(model, precision): {metric: value}} -> one row per (model, precision) with the forget Q&A
    probability, the forget truth ratio and the model utility."""
    rows = [{"model": m, "precision": p, "forget_qa_prob": g["forget"], "forget_truth_ratio": g["forget_truth_ratio"],
             "model_utility": g["model_utility"]} for (m, p), g in grades.items()]
    return pd.DataFrame(rows)


def quantization_recovers_less(items: dict, unlearned: str = "Unlearn", distilled: str = "Unlearn-and-Distill",
                               n_boot: int = 1000, clusters=None) -> tuple[str, Interval]:
    """C6: items {(model, precision): forget Q&A probability per forget question [N]} for both models at "fp32" and
    "int4". The margin, (int4 - fp32 of `unlearned`) - (int4 - fp32 of `distilled`), with its paired bootstrap
    interval over the forget questions; > 0 claimed."""
    keys = [(unlearned, "fp32"), (unlearned, "int4"), (distilled, "fp32"), (distilled, "int4")]
    _require(keys, list(items), "C6")
    scores = np.stack([np.asarray(items[k], float) for k in keys])  # [4, N]
    interval = paired_bootstrap(scores, lambda m: (m[:, 1] - m[:, 0]) - (m[:, 3] - m[:, 2]), n_boot=n_boot,
                                clusters=clusters)
    means = scores.mean(-1)
    detail = (f"forget Q&A prob under INT4: {unlearned} {means[0]:.3f} -> {means[1]:.3f}, "
              f"{distilled} {means[2]:.3f} -> {means[3]:.3f}")
    return detail, interval


def grade_fp32_int4(evaluator, models: dict) -> tuple[dict, dict]:
    """Grade each {label: Artifact} as trained and with its weights in INT4 (quantize.int4). Returns the grades
    {(label, precision): {metric: value}} and the forget Q&A probability per forget question {(label, precision):
    [N]}, precision "fp32" or "int4"."""
    grades, forget = {}, {}
    for label, artifact in models.items():
        for precision, model in (("fp32", artifact.model()), ("int4", int4(artifact.model()))):
            items = {}
            grades[(label, precision)] = evaluator(model, items)
            forget[(label, precision)] = items["forget"]
    return grades, forget


def int4_rises(items: dict, n_boot: int = 1000, clusters=None) -> pd.DataFrame:
    """What INT4 brings back in each model: items {(model, precision): forget Q&A probability per forget question
    [N]}, "fp32" and "int4" for every model. One row per model: fp32, int4, rise = int4 - fp32 with its 95% paired
    bootstrap interval over the forget questions (> 0: quantization recovers forgotten answers)."""
    rows = []
    for model in dict.fromkeys(m for m, _ in items):
        _require([(model, "fp32"), (model, "int4")], list(items), "INT4's rise")
        scores = np.stack([np.asarray(items[(model, p)], float) for p in ("fp32", "int4")])  # [2, N]
        rise = paired_bootstrap(scores, lambda m: m[:, 1] - m[:, 0], n_boot=n_boot, clusters=clusters)
        rows.append({"model": model, "fp32": scores[0].mean(), "int4": scores[1].mean(), "rise": rise.effect,
                     "ci_low": rise.low, "ci_high": rise.high})
    return pd.DataFrame(rows)


def relearns_like_base(attacks: dict, unlearned: str = "Unlearn", distilled: str = "Unlearn-and-Distill",
                       base: str = "Base", n_boot: int = 1000, clusters=None) -> tuple[str, Interval]:
    """C7: attacks {label: Artifact} graded on the same forget questions. For the worst-case forget Q&A probability
    averaged over the attack and at its end: |unlearned - distilled| - |distilled - base|, the smaller of the two,
    with its paired bootstrap interval over the forget questions; > 0 claimed."""
    labels, _, steps, scores = item_scores(attacks)
    _require((unlearned, distilled, base), labels, "C7")
    u, d, b = (labels.index(x) for x in (unlearned, distilled, base))

    def margin(means):  # [B, models, rates, steps] -> [B]
        auc, final = worst_case_summary(means, steps, True)
        return np.minimum(*(np.abs(m[:, u] - m[:, d]) - np.abs(m[:, d] - m[:, b]) for m in (auc, final)))
    interval = paired_bootstrap(scores, margin, n_boot=n_boot, clusters=clusters)
    auc, final = worst_case_summary(scores.mean(-1)[None], steps, True)
    detail = "; ".join(f"{name}: " + ", ".join(f"{labels[i]} {m[0, i]:.3f}" for i in (u, d, b))
                       for name, m in (("averaged over the attack", auc), ("at its end", final)))
    return detail, interval
