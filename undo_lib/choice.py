"""Which run of a learning-rate sweep counts as a method's unlearned model: Appendix B.1's "best trade-off".

The paper picks, for each method, the rate with the best retain/forget trade-off without giving a formula. Here a
run's score is *retain kept − forget kept*, each "kept" measured from chance (the metric of a model that knows
nothing), so the rule reads the same in accuracy and in cross-entropy; it reproduces the paper's own choices
(tests/test_choice.py).
"""
import numpy as np
import pandas as pd

from .results import sweep_curves


def tradeoff_scores(curves, chance: float):
    """Score each unlearning run of a sweep: retain kept minus forget kept (Appendix B.1's "best trade-off").

    curves: tidy (lr, step, metric, value) with metrics "retain" and "forget" at the first and last step.
    chance: the metric of a model that knows nothing: 0 accuracy, or log V cross-entropy (uniform prediction).
    "Kept" = (final - chance) / (initial - chance), at least 0: 1 is untouched, 0 is at chance, in both settings.
    Returns a DataFrame indexed by lr with the initial and final metrics and the score."""
    rows = {}
    for lr, g in curves.groupby("lr"):
        m = g.pivot_table(index="step", columns="metric", values="value").sort_index()
        first, last = m.iloc[0], m.iloc[-1]

        def kept(metric):
            above = first[metric] - chance
            if abs(above) < 1e-12:  # it started at chance: nothing to keep or lose
                return 1.0
            return max(0.0, (last[metric] - chance) / above)
        rows[lr] = {"retain_initial": first["retain"], "retain_final": last["retain"],
                    "forget_initial": first["forget"], "forget_final": last["forget"],
                    "score": kept("retain") - kept("forget")}
    return pd.DataFrame(rows).T.rename_axis("lr")


def best_tradeoff(curves, chance: float) -> float:
    """The learning rate whose run has the highest `tradeoff_scores` score (ties: the smaller rate)."""
    scores = tradeoff_scores(curves, chance)["score"]
    return float(scores[scores == scores.max()].index.min())


def choose(sweep: dict, chance: float) -> float:
    """The learning rate of a sweep {lr: Artifact} with the best trade-off."""
    return best_tradeoff(sweep_curves(sweep), chance)


def sweep_scores(sweeps: dict, chance: float) -> pd.DataFrame:
    """For {method: {lr: Artifact}}: each run's initial and final retain/forget, its trade-off score, whether it is
    the chosen one, and its store key; indexed by (method, lr)."""
    frames = []
    for name, sweep in sweeps.items():
        t = tradeoff_scores(sweep_curves(sweep), chance).reset_index()
        keys = {float(lr): a.key for lr, a in sweep.items()}
        frames.append(t.assign(method=name, chosen=np.isclose(t.lr, choose(sweep, chance)),
                               key=[keys[float(lr)] for lr in t.lr]))
    return pd.concat(frames, ignore_index=True).set_index(["method", "lr"])


def frontier_points(scores: pd.DataFrame, chance: float, k: int = 3, removed: float = 0.5) -> pd.DataFrame:
    """Section 6's choice (Appendix D.2.3: "three points across the frontier", Table 10): among the runs that
    removed at least `removed` of the forget capability above chance, the Pareto frontier of (retain kept, forget
    kept), and `k` of its points evenly spaced from the best retain to the worst (the first teaches UNDO).

    scores: one row per run (any index, e.g. (alpha, lr)) with retain/forget initial and final, as
    `tradeoff_scores` gives; "kept" as there, so the rule reads the same in accuracy and cross-entropy.
    Returns those rows, best retain first, with columns retain_kept, forget_kept and rank ("best", ...)."""
    def kept(metric):
        above = (scores[f"{metric}_initial"] - chance).where(lambda a: a.abs() > 1e-12)
        return ((scores[f"{metric}_final"] - chance) / above).clip(lower=0).fillna(1.0)
    t = scores.assign(retain_kept=kept("retain"), forget_kept=kept("forget"))
    t = t[t.forget_kept <= 1 - removed]
    if t.empty:
        raise ValueError(f"no run removed {removed:.0%} of the forget capability: nothing to choose from")
    front = t[[not ((t.retain_kept >= r.retain_kept) & (t.forget_kept <= r.forget_kept)
                    & ((t.retain_kept > r.retain_kept) | (t.forget_kept < r.forget_kept))).any()
               for r in t.itertuples()]].sort_values("retain_kept", ascending=False)
    picks = sorted({round(i * (len(front) - 1) / max(1, k - 1)) for i in range(k)})
    names = ["best", "medium", "worst"] if len(picks) == 3 else [f"#{i + 1}" for i in range(len(picks))]
    return front.iloc[picks].assign(rank=names)


def run_scores(runs: dict) -> pd.DataFrame:
    """{key: Artifact} of unlearning runs (e.g. keyed (a, lr) by Section 6's sweep) -> one row per key with retain
    and forget at the first and last evaluation (the validation split), as `frontier_points` reads them."""
    rows = {}
    for key, artifact in runs.items():
        m = artifact.metrics.pivot_table(index="step", columns="metric", values="value").sort_index()
        rows[key] = {f"{metric}_{when}": float(m[metric].dropna().iloc[k])
                     for metric in ("retain", "forget") for when, k in (("initial", 0), ("final", -1))}
    return pd.DataFrame(rows).T
