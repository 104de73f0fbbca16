"""The paper's claims C1-C5, each computed from result tables (C6-C9: post_training.py, wmdp_claims.py).

A claim is a function of tidy results -> (holds: bool, detail: str with the numbers compared), and each also has its
margin with a 95% bootstrap interval over the graded items (`*_interval`, stats.py; C5 at matched retain), which
decides its verdict: holds, fails or inconclusive. `clusters` (Evaluator.clusters: the fact each graded problem
states, or the document of each graded window) makes the bootstrap draw a fact's problems, or a document's windows,
together. verdicts.record writes both into the claims table.
"""
import numpy as np
import pandas as pd
import scipy.stats

from .attack import worst_case
from .methods import display_name, group
from .results import item_scores, undo_point
from .stats import Interval, joint_bootstrap, paired_bootstrap

CLAIMS = {
    "C1": "Oracle matching is not robust: the reference-initialized student relearns the forget capability faster "
          "than both the randomly initialized student and the oracle (Section 3, Fig 2).",
    "C2": "Distillation robustifies unlearning: for every method (GradDiff, MaxEnt, RMU), Unlearn-and-Distill "
          "relearns more slowly than Unlearn-only, both at the end of the attack and averaged over it "
          "(Section 4, Fig 4).",
    "C3": "UNDO trades compute for robustness: across the alpha sweep (beta = 0.1), both robustness "
          "(P_UNDO - P_Unlearn) / (P_DataFiltering - P_Unlearn) and compute S_UNDO / S_DataFiltering rise with alpha "
          "(Spearman rank correlation >= 0.8 each; Section 5, Fig 5).",
    "C4": "alpha moves robustness more than beta: over the alpha x beta grid, the spread of robustness across alpha "
          "(at fixed beta) is larger than across beta (at fixed alpha) (Section 5, Fig 6).",
    "C5": "After the long relearning attack no baseline point (GradDiff, MaxEnt, RMU, SAM, RepNoise, UNDIAL; and "
          "NPO, SimNPO beyond the paper) dominates a point of UNDO's retain/forget Pareto frontier (Section 6, "
          "Fig 7).",
}


def area_under_curve(curve: pd.DataFrame) -> float:
    """Mean value of a (step, value) curve over its steps, by the trapezoid rule (same units as value)."""
    curve = curve.sort_values("step")
    steps, values = curve["step"].to_numpy(float), curve["value"].to_numpy(float)
    if len(steps) < 2:
        return float(values.mean())
    return float(np.trapezoid(values, steps) / (steps[-1] - steps[0]))


C2_METHODS = group("unlearning")  # GradDiff, MaxEnt, RMU (Section 4, Fig 4)
C5_METHODS = group("unlearning", "extra", "baseline")  # every method compared with UNDO (Section 6, Fig 7)


def _require(models, present, what: str):
    """Raise naming what is missing: a claim is never decided on absent input."""
    missing = [m for m in models if m not in set(present)]
    if missing:
        raise ValueError(f"{what}: no {', '.join(map(str, missing))} in the results (have {sorted(map(str, present))})")


def relearning_summary(curves: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """Per model: worst-case forget performance averaged over the attack (auc) and at its last step (final)."""
    if curves.empty or not (curves.metric == "forget").any():
        raise ValueError("no forget curves to summarize")
    worst = worst_case(curves, higher_is_better)
    return pd.DataFrame({model: {"auc": area_under_curve(g), "final": float(g.sort_values("step")["value"].iloc[-1])}
                         for model, g in worst.groupby("model")}).T


def oracle_matching_not_robust(curves: pd.DataFrame, higher_is_better: bool,
                               student_ref="Student (Reference)", others=("Student (Random)", "Oracle")):
    """C1: the reference-initialized student's worst-case forget curve is better for the attacker (higher accuracy
    or lower loss, averaged over the whole attack) than the random student's and the oracle's."""
    s = relearning_summary(curves, higher_is_better)
    _require((student_ref, *others), s.index, "C1")
    better = (lambda a, b: a > b) if higher_is_better else (lambda a, b: a < b)
    holds = all(better(s.loc[student_ref, "auc"], s.loc[o, "auc"]) for o in others)
    unit = "accuracy" if higher_is_better else "cross-entropy"
    detail = (f"worst-case forget {unit} averaged over the attack (at its end): "
              + "; ".join(f"{m} {s.loc[m, 'auc']:.3f} ({s.loc[m, 'final']:.3f})" for m in (student_ref, *others)))
    return bool(holds), detail


def distillation_robustifies(curves: pd.DataFrame, higher_is_better: bool, distilled="Unlearn-and-Distill",
                             unlearned="Unlearn", methods=C2_METHODS, claim: str = "C2"):
    """C2: for every method of `curves` (tidy, with a `method` column; `methods` must all be there), the
    distilled model's worst-case forget curve is worse for the attacker than the unlearned-only model's, both
    averaged over the attack (auc) and at its last step (final). Holds when every method does."""
    slower = (lambda a, b: a < b) if higher_is_better else (lambda a, b: a > b)
    verdicts, parts = [], []
    if curves.empty:
        raise ValueError(f"{claim}: no relearning curves")
    _require(methods, curves.method.unique(), claim)
    for method, g in curves.groupby("method", sort=False):
        s = relearning_summary(g, higher_is_better)
        _require((distilled, unlearned), s.index, f"{claim} ({method})")
        ok = all(slower(s.loc[distilled, k], s.loc[unlearned, k]) for k in ("auc", "final"))
        verdicts.append(ok)
        parts.append(f"{display_name(method)} {'yes' if ok else 'NO'}: U&D {s.loc[distilled, 'auc']:.3f} "
                     f"({s.loc[distilled, 'final']:.3f}) vs Unlearn {s.loc[unlearned, 'auc']:.3f} "
                     f"({s.loc[unlearned, 'final']:.3f})")
    unit = "accuracy" if higher_is_better else "cross-entropy"
    return all(verdicts), f"worst-case forget {unit} averaged over the attack (at its end): " + "; ".join(parts)


def undo_table(curves: pd.DataFrame, steps: dict, data_filtering_steps: float, higher_is_better: bool,
               recovered: dict | None = None) -> pd.DataFrame:
    """One row per UNDO student (alpha, beta): steps used, compute S_UNDO / S_DataFiltering, worst-case forget
    performance P averaged over the attack, robustness (P_UNDO - P_Unlearn) / (P_DataFiltering - P_Unlearn)
    (0: no better than unlearning alone, 1: as robust as data filtering), and whether it recovered (False: it
    stopped at the cap of one epoch). curves: `Experiment.relearn_undo`'s; steps: {(alpha, beta): steps used};
    recovered: {(alpha, beta): bool} (Experiment.undo_recovered)."""
    s = relearning_summary(curves, higher_is_better)
    _require(("Unlearn", "Data Filtering"), s.index, "UNDO's robustness")
    p_unlearn, p_filter = s.loc["Unlearn", "auc"], s.loc["Data Filtering", "auc"]
    rows = []
    for (alpha, beta), g in curves.dropna(subset=["alpha"]).groupby(["alpha", "beta"]):
        p = s.loc[g.model.iloc[0], "auc"]
        rows.append({"alpha": alpha, "beta": beta, "steps": int(steps[(alpha, beta)]),
                     "compute": steps[(alpha, beta)] / data_filtering_steps, "forget_auc": p,
                     "robustness": (p - p_unlearn) / (p_filter - p_unlearn),
                     **({"recovered": bool(recovered[(alpha, beta)])} if recovered is not None else {}),
                     **({"key": g.key.iloc[0]} if "key" in g else {})})
    return pd.DataFrame(rows)


def _spearman(x, y) -> float:
    x, y = pd.Series(x).rank().to_numpy(float), pd.Series(y).rank().to_numpy(float)
    if x.std() == 0 or y.std() == 0:
        return float("nan")  # a constant series has no rank correlation
    return float(np.corrcoef(x, y)[0, 1])


def compute_buys_robustness(table: pd.DataFrame, beta: float, threshold: float = 0.8):
    """C3 from `undo_table` rows at noise scale `beta`: Spearman(alpha, robustness) and Spearman(alpha, compute)
    are both >= threshold."""
    t = table[np.isclose(table.beta, beta)].sort_values("alpha")
    if len(t) < 3:
        raise ValueError(f"C3 needs at least 3 alphas at beta {beta:g}, got {len(t)}")
    r_rob, r_comp = _spearman(t.alpha, t.robustness), _spearman(t.alpha, t.compute)
    holds = r_rob >= threshold and r_comp >= threshold
    capped = [f"{a:g}" for a in t.alpha[~t.recovered.astype(bool)]] if "recovered" in t else []
    detail = (f"Spearman over alpha {', '.join(f'{a:g}' for a in t.alpha)} (beta {beta:g}): robustness {r_rob:.2f} "
              f"({', '.join(f'{v:.2f}' for v in t.robustness)}), compute {r_comp:.2f} "
              f"({', '.join(f'{v:.2f}' for v in t.compute)}); threshold {threshold}"
              + (f"; students at the one-epoch cap, read as they are: alpha {', '.join(capped)}" if capped else ""))
    return bool(holds), detail


def alpha_matters_more_than_beta(table: pd.DataFrame, alphas, betas):
    """C4 from `undo_table` rows of the grid alphas x betas: mean over beta of the robustness range across alpha
    exceeds the mean over alpha of the range across beta."""
    t = table[table.alpha.isin(alphas) & table.beta.isin(betas)]
    grid = t.pivot_table(index="alpha", columns="beta", values="robustness", dropna=False)
    if grid.shape[0] < 2 or grid.shape[1] < 2:
        raise ValueError(f"C4 needs a grid of at least 2 alphas x 2 betas, got {grid.shape}")
    if grid.isna().any().any():  # P_DataFiltering = P_Unlearn: robustness is undefined, nothing to compare
        return False, "robustness undefined: Data Filtering and Unlearn relearned alike (P_DataFiltering = P_Unlearn)"
    across_alpha = float((grid.max(0) - grid.min(0)).mean())
    across_beta = float((grid.max(1) - grid.min(1)).mean())
    detail = (f"mean robustness range across alpha {across_alpha:.2f} vs across beta {across_beta:.2f} "
              f"(alpha {', '.join(f'{a:g}' for a in grid.index)}; beta {', '.join(f'{b:g}' for b in grid.columns)})")
    return bool(across_alpha > across_beta), detail


def _better(higher_is_better: bool):
    """(retain a, forget a) vs (retain b, forget b) -> (at least as good in both, strictly better in one) for the
    defender: more retain and less forget capability (accuracy), or less retain and more forget loss (cross-entropy)."""
    def dominates(a, b) -> bool:
        sign = 1 if higher_is_better else -1
        gains = (sign * (a[0] - b[0]), sign * (b[1] - a[1]))  # retain gain, forget reduction
        return all(g >= 0 for g in gains) and any(g > 0 for g in gains)
    return dominates


def pareto_front(points: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """The rows of `points` (columns retain, forget) that no other row dominates, sorted by retain."""
    dominates = _better(higher_is_better)
    xy = list(zip(points["retain"], points["forget"]))
    keep = np.array([not any(dominates(o, p) for o in xy) for p in xy], dtype=bool)
    return points.loc[keep].sort_values("retain")


def frontier_at(x, retain, forget, higher_is_better: bool) -> np.ndarray:
    """A method's frontier after the attack, read at retain performance `x`: its points that none of its other
    points dominates (the monotone envelope: the defender's best forget at each retain), interpolated linearly
    along retain; outside their range np.interp clamps to the nearest frontier point, the method's best there.

    x: [U] retain values to read at; retain, forget: [P] one method's points. Returns [U] forget values."""
    r, f = np.asarray(retain, dtype=float), np.asarray(forget, dtype=float)
    sign = 1.0 if higher_is_better else -1.0
    up, down = sign * r, -sign * f                      # both larger = better for the defender
    ge = (up[None, :] >= up[:, None]) & (down[None, :] >= down[:, None])          # [i, j]: j at least as good
    gt = (up[None, :] > up[:, None]) | (down[None, :] > down[:, None])
    keep = ~(ge & gt).any(axis=1)                       # [P]: no other point dominates
    order = np.argsort(r[keep], kind="stable")
    return np.interp(np.asarray(x, dtype=float), r[keep][order], f[keep][order])


def undo_not_dominated(points: pd.DataFrame, higher_is_better: bool, undo="undo", methods=C5_METHODS):
    """C5 from (method, retain, forget) rows after the long attack: no other method's point (`methods` must all
    be there) dominates a point of UNDO's own Pareto frontier."""
    _require((undo, *methods), points.method.unique(), "C5")
    dominates = _better(higher_is_better)
    front = pareto_front(points[points.method == undo], higher_is_better)
    others = points[points.method != undo]
    if front.empty or others.empty:
        raise ValueError(f"C5 needs UNDO's points and other methods' points, got {len(front)} and {len(others)}")
    beaten = [(r.method, round(r.retain, 3), round(r.forget, 3), round(f.retain, 3), round(f.forget, 3))
              for r in others.itertuples() for f in front.itertuples()
              if dominates((r.retain, r.forget), (f.retain, f.forget))]
    undo_retain = points[points.method == undo].retain  # every UNDO point, as the matched-retain interval reads
    spans = {m: pareto_front(g, higher_is_better).retain for m, g in others.groupby("method", sort=False)}
    outside = [display_name(m) for m, r in spans.items() if not undo_retain.between(r.min(), r.max()).all()]
    frontier = [(round(a, 3), round(b, 3)) for a, b in zip(front.retain, front.forget)]
    detail = (f"UNDO frontier (retain, forget): {frontier}; "
              + ("no baseline point dominates it" if not beaten else
                 "dominated by " + "; ".join(f"{m} ({a}, {b}) over ({c}, {d})" for m, a, b, c, d in beaten[:5]))
              + (f"; UNDO's retain lies outside the frontier of {', '.join(outside)} (compared at matched retain with "
                 "its nearest frontier point)" if outside else "; every method's frontier spans UNDO's retain"))
    return not beaten, detail


def at_alpha(label: str, alpha: float) -> bool:
    """Whether an UNDO point's label ("alpha=<alpha> threshold=<t>", Experiment.comparison_specs) has this alpha."""
    return label.split()[0] == f"alpha={alpha:g}"


def undo_alpha_only(attacks: dict, alpha: float, undo: str = "undo") -> dict:
    """The comparison's attacks with UNDO's points narrowed to those at `alpha` (labels "alpha=<alpha> ..."): the
    paper's Fig 7 shows UNDO at alpha = 0.6 only, so C5 asked of these alone says whether the verdict rests on
    notebook 03's stronger student. Raises when no UNDO point has that alpha."""
    kept = {label: a for label, a in attacks[undo].items() if at_alpha(label, alpha)}
    if not kept:
        raise ValueError(f"C5: no UNDO point at alpha={alpha:g} among {sorted(attacks[undo])}")
    return {**attacks, undo: kept}


def worst_case_summary(means: np.ndarray, steps, higher_is_better: bool) -> tuple[np.ndarray, np.ndarray]:
    """(auc, final) [..., models] of mean grades [..., models, rates, steps]: the attacker's best rate at each step
    (worst_case), averaged over the attack by the trapezoid rule (area_under_curve) and at its last step."""
    worst = means.max(-2) if higher_is_better else means.min(-2)           # [..., models, steps]
    steps = np.asarray(steps, dtype=float)
    auc = np.trapezoid(worst, steps, axis=-1) / (steps[-1] - steps[0]) if len(steps) > 1 else worst[..., 0]
    return auc, worst[..., -1]


def oracle_matching_interval(attacks: dict, higher_is_better: bool, student_ref="Student (Reference)",
                             others=("Student (Random)", "Oracle"), n_boot: int = 1000, clusters=None) -> Interval:
    """C1's margin with its 95% paired bootstrap interval over the graded forget items: how much better for the
    attacker the reference student's worst-case forget curve is (averaged over the attack) than the better of the
    others' (accuracy points, or nats of cross-entropy); > 0 is the claimed direction."""
    labels, _, steps, scores = item_scores(attacks)
    _require((student_ref, *others), labels, "C1")
    sign, ref, rest = (1 if higher_is_better else -1), labels.index(student_ref), [labels.index(o) for o in others]

    def margin(means):  # [B, models, rates, steps] -> [B]
        auc, _ = worst_case_summary(means, steps, higher_is_better)
        return (sign * (auc[:, [ref]] - auc[:, rest])).min(1)
    return paired_bootstrap(scores, margin, n_boot=n_boot, clusters=clusters)


def distillation_interval(attacks: dict, higher_is_better: bool, distilled="Unlearn-and-Distill",
                          unlearned="Unlearn", n_boot: int = 1000, methods=C2_METHODS, clusters=None) -> Interval:
    """C2's margin with its 95% paired bootstrap interval: over every method {method: {label: Artifact}} and both
    measures (averaged over the attack, at its end), the smallest amount by which Unlearn-and-Distill is worse
    for the attacker than Unlearn-only; > 0 is the claimed direction. Every method's models are graded on the same
    items, so one draw of items serves them all."""
    if not attacks:
        raise ValueError("C2: no relearning attacks")
    _require(methods, attacks, "C2")
    stacks, steps = [], None
    for method, models in attacks.items():
        labels, _, steps, scores = item_scores(models)
        _require((distilled, unlearned), labels, f"C2 ({method})")
        stacks.append(scores[[labels.index(unlearned), labels.index(distilled)]])
    sign = 1 if higher_is_better else -1

    def margin(means):  # [B, methods, 2, rates, steps] -> [B]
        auc, final = worst_case_summary(means, steps, higher_is_better)
        return np.minimum(sign * (auc[..., 0] - auc[..., 1]), sign * (final[..., 0] - final[..., 1])).min(1)
    return paired_bootstrap(np.stack(stacks), margin, n_boot=n_boot, clusters=clusters)


def _robustness(attacks: dict, higher_is_better: bool):
    """(points [(alpha, beta)], scores, steps, statistic) for UNDO's attacks: statistic maps mean grades
    [B, models, rates, steps] to robustness [B, students], (P - P_Unlearn) / (P_DataFiltering - P_Unlearn) of each
    student, NaN where Data Filtering and Unlearn tie."""
    labels, _, steps, scores = item_scores(attacks)
    _require(("Unlearn", "Data Filtering"), labels, "UNDO's robustness")
    students = [i for i, label in enumerate(labels) if undo_point(label)]
    points = [undo_point(labels[i]) for i in students]
    iu, idf = labels.index("Unlearn"), labels.index("Data Filtering")

    def robustness(means):
        auc, _ = worst_case_summary(means, steps, higher_is_better)
        gap = auc[:, [idf]] - auc[:, [iu]]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(gap != 0, (auc[:, students] - auc[:, [iu]]) / gap, np.nan)
    return points, scores, robustness


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, tied values sharing their average rank (as _spearman's): equal robustness is no
    evidence of order."""
    return scipy.stats.rankdata(x, axis=-1)


def compute_buys_robustness_interval(attacks: dict, table: pd.DataFrame, beta: float, higher_is_better: bool,
                                     threshold: float = 0.8, n_boot: int = 1000, clusters=None) -> Interval:
    """C3's margin, min(Spearman(alpha, robustness), Spearman(alpha, compute)) - threshold, with a 95% paired
    bootstrap interval over the graded items (compute, the steps each student took, is not resampled). A
    replicate where robustness is undefined or equal for every alpha counts as a correlation of -1. > 0 is the
    claimed direction."""
    points, scores, robustness = _robustness(attacks, higher_is_better)
    at_beta = sorted((a, j) for j, (a, b) in enumerate(points) if np.isclose(b, beta))
    if len(at_beta) < 3:
        raise ValueError(f"C3 needs at least 3 alphas at beta {beta:g}, got {len(at_beta)}")
    alphas, cols = [a for a, _ in at_beta], [j for _, j in at_beta]
    t = table[np.isclose(table.beta, beta)].set_index("alpha")
    rho_compute = _spearman(alphas, [t.loc[a, "compute"] for a in alphas])
    alpha_ranks = _ranks(np.array(alphas))

    def margin(means):
        r = robustness(means)[:, cols]                                     # [B, alphas]
        ranks = _ranks(r)
        centered = ranks - ranks.mean(1, keepdims=True)
        a = alpha_ranks - alpha_ranks.mean()
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant row: no rank correlation
            rho = (centered * a).sum(1) / np.sqrt((centered ** 2).sum(1) * (a ** 2).sum())
        rho = np.where(np.isnan(r).any(1) | np.isnan(rho), -1.0, rho)
        return np.minimum(rho, rho_compute if not np.isnan(rho_compute) else -1.0) - threshold
    return paired_bootstrap(scores, margin, n_boot=n_boot, clusters=clusters)


def alpha_matters_more_interval(attacks: dict, alphas, betas, higher_is_better: bool,
                                n_boot: int = 1000, clusters=None) -> Interval:
    """C4's margin, mean range of robustness across alpha minus mean range across beta over the alpha x beta grid,
    with a 95% paired bootstrap interval over the graded items. > 0 is the claimed direction."""
    points, scores, robustness = _robustness(attacks, higher_is_better)
    index = {p: j for j, p in enumerate(points)}
    grid = [[index.get((a, b)) for b in betas] for a in alphas]
    if len(alphas) < 2 or len(betas) < 2 or any(j is None for row in grid for j in row):
        raise ValueError(f"C4 needs every point of the grid {list(alphas)} x {list(betas)}, have {points}")

    def margin(means):
        r = robustness(means)[:, np.array(grid)]                            # [B, alphas, betas]
        across_alpha = (r.max(1) - r.min(1)).mean(-1)
        across_beta = (r.max(2) - r.min(2)).mean(-1)
        return across_alpha - across_beta
    return paired_bootstrap(scores, margin, n_boot=n_boot, clusters=clusters)


def undo_matched_retain_interval(attacks: dict, higher_is_better: bool, undo: str = "undo",
                                 n_boot: int = 1000, methods=C5_METHODS, clusters=None) -> Interval:
    """C5 at matched retain (Section 6, Fig 7): for each other method, its frontier after the long attack
    (worst-case forget against retain before the attack; `frontier_at`) read at each UNDO point's retain, minus
    UNDO's own, signed so that > 0 means UNDO is better for the defender; UNDO's best point counts against each
    method and the margin is the smallest over methods, with a 95% bootstrap interval over the graded retain and
    forget items (the frontier is found anew in every draw). A method whose frontier does not reach an UNDO
    point's retain is compared at its nearest frontier point.

    attacks: {method: {point label: Artifact}} of the comparison's models (Data Filtering excluded); `methods`
    must all be there. clusters: (retain, forget) ids of the graded items (Evaluator.clusters, None for items
    resampled one by one), or None."""
    _require((undo, *methods), attacks, "C5")
    names = list(attacks)
    retain, forget, sizes = [], [], []
    for name in names:
        labels, _, _, r = item_scores(attacks[name], "retain")             # retain: graded at the attack's start
        _, _, _, f = item_scores(attacks[name], "forget")
        retain.append(r[:, :, 0])                                          # [points, rates, items]
        forget.append(f[:, :, -1])                                         # the long attack's last step
        sizes.append(len(labels))
    edges = np.cumsum([0] + sizes)
    sign = 1 if higher_is_better else -1  # defender: less forget accuracy, more forget cross-entropy

    def margin(means):
        r_all, f_all = means[0][0], means[1][0]                           # [points, rates]
        ret = r_all[:, 0]                                                  # every rate starts from the same model
        worst = f_all.max(1) if higher_is_better else f_all.min(1)         # the attacker's best rate
        u = names.index(undo)
        u_ret, u_for = ret[edges[u]:edges[u + 1]], worst[edges[u]:edges[u + 1]]
        gaps = []
        for k, name in enumerate(names):
            if name == undo:
                continue
            frontier = frontier_at(u_ret, ret[edges[k]:edges[k + 1]], worst[edges[k]:edges[k + 1]], higher_is_better)
            gaps.append(sign * (frontier - u_for))
        return np.array([min(g.max() for g in gaps)])  # UNDO's best point against each method, worst method
    return joint_bootstrap([np.concatenate(retain), np.concatenate(forget)], margin, n_boot=n_boot,
                           clusters=clusters)
