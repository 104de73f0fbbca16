"""Section 6's claims, decided beyond noise: C8, "UNDO makes MaxEnt and RMU more resilient to relearning" (Fig 8),
and C9, "higher alpha does not recover retain within the distillation budget" (Table 13).

The attacker of Section 6 chooses among Table 12's adversaries and, within each, among learning rates ("we report the
metrics from the best adversary for each method"), so the worst case runs over (adversary, rate) pairs. With that
one change C8 is C2's comparison (claims.distillation_robustifies, distillation_interval) with UNDO in the place of
Unlearn-and-Distill: for every unlearning method, UNDO's worst-case forget accuracy, averaged over the attack and at
its end, is lower than the method's own.
"""
import numpy as np
import pandas as pd

from .claims import _require, distillation_robustifies, worst_case_summary
from .methods import group
from .results import item_scores
from .stages import Recovered
from .stats import Interval, paired_bootstrap


C8_METHODS = group("section6")  # MaxEnt and RMU as Section 6 configures them


def against_every_adversary(curves: pd.DataFrame) -> pd.DataFrame:
    """Curves of several adversaries (an `adversary` column) as one attacker's: each (adversary, rate) pair becomes
    one "rate" of the `lr` column, over which worst_case takes the attacker's best."""
    if "adversary" not in curves:
        raise ValueError("curves need an 'adversary' column (one attack per adversary of Table 12)")
    pair = curves.adversary.astype(str) + " @ lr=" + curves.lr.astype(str)
    return curves.assign(lr=pair).drop(columns=["adversary", "key"], errors="ignore")  # key: one per attack


def strongest_adversary(curves: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """The curves of each model's strongest adversary, without the `adversary` column: of the adversaries of Table
    12, the one whose best rate reaches the attacker's best forget value at the last step (Section 6 reports "the
    best adversary for each method"), so that its rate grid can be judged like a single adversary's."""
    forget = curves[curves.metric == "forget"]
    last = forget[forget.step == forget.step.max()]
    models = [c for c in ("method", "model") if c in curves]
    groups = last.value.groupby([last[c] for c in models])
    best = groups.idxmax() if higher_is_better else groups.idxmin()
    return curves.merge(last.loc[best.values, models + ["adversary"]], on=models + ["adversary"]).drop(
        columns="adversary")


def undo_more_resilient(curves: pd.DataFrame, higher_is_better: bool, undo: str = "UNDO",
                        unlearned: str = "Unlearn", methods=C8_METHODS) -> tuple[bool, str]:
    """C8 from tidy curves (adversary, method, model, lr, step, metric, value): for every method (`methods` must
    all be there), the `undo` model's worst case over every adversary and rate is worse for the attacker than the
    `unlearned` model's, averaged over the attack and at its end."""
    holds, detail = distillation_robustifies(against_every_adversary(curves), higher_is_better, undo, unlearned,
                                             methods=methods, claim="C8")
    return holds, detail.replace("U&D", "UNDO")


def undo_resilience_interval(attacks: dict, higher_is_better: bool, undo: str = "UNDO", unlearned: str = "Unlearn",
                             n_boot: int = 1000, methods=C8_METHODS, clusters=None) -> Interval:
    """C8's margin with its 95% paired bootstrap interval over the graded forget questions: over every method and
    both measures, the smallest amount by which `undo` is worse for the attacker than `unlearned`, the attacker
    choosing adversary and rate. attacks: {adversary: {method: {label: Artifact}}}, every attack graded on the same
    questions at the same steps."""
    if not attacks:
        raise ValueError("C8: no relearning attacks")
    adversaries = list(attacks)
    _require(methods, attacks[adversaries[0]], "C8")
    methods = list(attacks[adversaries[0]])
    stacks, steps = [], None
    for method in methods:
        pair = []
        for label in (unlearned, undo):
            parts = []
            for adversary in adversaries:
                models = attacks[adversary].get(method, {})
                _require((label,), list(models), f"C8 ({method}, {adversary})")
                _, _, steps, scores = item_scores({label: models[label]})
                parts.append(scores[0])  # [rates, steps, items]
            pair.append(np.concatenate(parts, 0))  # [adversaries x rates, steps, items]
        stacks.append(np.stack(pair))
    sign = 1 if higher_is_better else -1

    def margin(means):  # [B, methods, 2, pairs, steps] -> [B]
        auc, final = worst_case_summary(means, steps, higher_is_better)
        return np.minimum(sign * (auc[..., 0] - auc[..., 1]), sign * (final[..., 0] - final[..., 1])).min(1)
    return paired_bootstrap(np.stack(stacks), margin, n_boot=n_boot, chunk=10,  # 8 adversaries x rates: big draws
                            clusters=clusters)


def alpha_table(teacher_retain: np.ndarray, students: dict, tolerance: float = 0.05) -> pd.DataFrame:
    """Table 13: per shrink-only alpha, the retain accuracy the student reached within the distillation budget,
    against the teacher's and the recovery bar (1 - tolerance) x teacher. students: {alpha: retain items [N]},
    teacher_retain: [N], the same questions."""
    teacher = float(np.mean(teacher_retain))
    recovered = Recovered("retain", teacher, tolerance, higher_is_better=True)
    rows = [{"alpha": float(a), "retain": float(np.mean(items)), "teacher_retain": teacher,
             "recovered": recovered({"retain": float(np.mean(items))})} for a, items in sorted(students.items())]
    return pd.DataFrame(rows)


def alpha_budget_table(teacher_retain: float, curves: dict, tolerance: float = 0.05) -> pd.DataFrame:
    """Table 13 at every budget the students were checked at: per shrink-only alpha and distillation step, the
    validation retain accuracy and whether it reaches the recovery bar, (1 - tolerance) x `teacher_retain` (the
    teacher's validation retain accuracy). The paper distils on 0.015% of Gemma-2-2B's pretraining and names that
    under-training as why its students do not recover (Appendix D.2.7): this table shows how recovery depends on
    the budget. curves: {alpha: a student's validation curves, tidy (step, metric, value)}.
    Returns rows (alpha, step, budget_share, retain, recovered), budget_share the step over the last step."""
    recovered, rows = Recovered("retain", teacher_retain, tolerance, higher_is_better=True), []
    for alpha, metrics in sorted(curves.items()):
        retain = metrics[metrics.metric == "retain"].sort_values("step")
        if retain.empty:
            raise ValueError(f"Table 13: the student at alpha {alpha:g} has no retain curve")
        last = retain.step.max()
        rows += [{"alpha": float(alpha), "step": int(r.step), "budget_share": r.step / last, "retain": r.value,
                  "recovered": recovered({"retain": r.value})} for r in retain.itertuples()]
    return pd.DataFrame(rows).assign(teacher_retain=teacher_retain)


def higher_alpha_does_not_recover(teacher_retain: np.ndarray, students: dict, tolerance: float = 0.05,
                                  n_boot: int = 1000, clusters=None) -> tuple[bool, str, Interval]:
    """C9 (Appendix D.2.7, Table 13): the student at the largest alpha stays below the recovery bar,
    (1 - tolerance) x the teacher's retain accuracy, at the end of its distillation budget. The margin (bar minus
    the student's accuracy) has a paired bootstrap interval over the retain questions; > 0 is the claimed direction.
    Returns (holds by the point estimate, detail, interval)."""
    if not students:
        raise ValueError("C9: no students")
    alpha = max(students)
    scores = np.stack([np.asarray(teacher_retain, float), np.asarray(students[alpha], float)])  # [2, N]
    interval = paired_bootstrap(scores, lambda m: (1 - tolerance) * m[:, 0] - m[:, 1], n_boot=n_boot,
                                clusters=clusters)
    t = alpha_table(teacher_retain, students, tolerance)
    detail = (f"retain accuracy within the budget, teacher {t.teacher_retain.iloc[0]:.3f} (bar {1 - tolerance:g}x): "
              + "; ".join(f"alpha {r.alpha:g} {r.retain:.3f}" for r in t.itertuples()))
    return interval.effect > 0, detail, interval


def retain_items(evaluator, model) -> np.ndarray:
    """Each retain question's 1/0 for `model` (C9's items)."""
    items = {}
    evaluator(model, items)
    return np.asarray(items["retain"], dtype=float)
