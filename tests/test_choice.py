"""The sweep's choice rule against the paper's own choices (Appendix B.1)."""
import math

import pandas as pd
import pytest

from undo_lib.choice import best_tradeoff, tradeoff_scores


def _sweep(rows):
    """Tidy sweep curves from {lr: (retain0, retain1, forget0, forget1)}."""
    return pd.DataFrame([{"lr": lr, "step": step, "metric": m, "value": v}
                         for lr, (r0, r1, f0, f1) in rows.items()
                         for step, m, v in ((0, "retain", r0), (10, "retain", r1), (0, "forget", f0), (10, "forget", f1))])


def test_best_tradeoff_reproduces_the_papers_choices():
    """Appendix B.1's numbers: the rule picks the paper's MaxEnt (language) and RMU (arithmetic) rates.
    Chance for language is log of Gemma's 256,000-token vocabulary."""
    maxent_language = _sweep({1e-5: (4.9359, 4.9439, 3.4672, 11.3281), 4e-5: (4.9359, 4.9466, 3.4672, 12.1715),
                              8e-5: (4.9359, 4.9895, 3.4672, 12.3808)})
    assert best_tradeoff(maxent_language, chance=math.log(256_000)) == 8e-5
    rmu_arithmetic = _sweep({6e-6: (.875, .7575, .8675, .2275), 7e-6: (.875, .68, .8675, .1375),
                             8e-6: (.875, .615, .8675, .0675), 9e-6: (.875, .52, .8675, .035),
                             2e-5: (.875, .14, .8675, 0.0)})
    assert best_tradeoff(rmu_arithmetic, chance=0.0) == 8e-6
    s = tradeoff_scores(rmu_arithmetic, 0.0)
    assert abs(s.loc[8e-6, "score"] - (.615 / .875 - .0675 / .8675)) < 1e-9
    graddiff_language = _sweep({1e-5: (4.9359, 5.0264, 3.4668, 30.5592), 2e-5: (4.9359, 4.9924, 3.4668, 31.5783)})
    assert (tradeoff_scores(graddiff_language, math.log(256_000))["score"] < 1).all()  # forget past chance counts 0
    assert best_tradeoff(graddiff_language, math.log(256_000)) == 2e-5


def test_committed_sweeps_choose_an_interior_rate():
    """In results/cpu's fig3_choices.csv every method's chosen rate lies strictly inside its sweep, on every seed
    and setting: a choice at an edge means the best trade-off may lie outside the rates tried."""
    from undo_lib import repo_path
    choices = pd.read_csv(repo_path("results", "cpu", "fig3_choices.csv"))
    groups = list(choices.groupby(["setting", "seed", "method"]))
    assert len(groups) >= 10, f"only {len(groups)} sweeps in results/cpu"
    for key, g in groups:
        chosen = g[g.chosen.astype(bool)].lr
        assert len(chosen) == 1, f"{key}: {len(chosen)} chosen rates"
        assert g.lr.min() < chosen.item() < g.lr.max(), f"{key}: chose {chosen.item():g}, an edge of the sweep"


def test_frontier_points_pick_three_across_the_frontier_of_runs_that_unlearned():
    from undo_lib.choice import frontier_points
    # (alpha, lr): retain and forget accuracy after unlearning, from 0.9 / 0.9 before; chance 0
    runs = {(0.5, 1e-5): (0.88, 0.80),   # barely unlearned: left out (kept 0.89 of forget)
            (0.5, 5e-5): (0.85, 0.40), (0.3, 5e-5): (0.80, 0.30), (0.3, 1e-4): (0.82, 0.35),  # dominated by none
            (0.1, 1e-4): (0.60, 0.10), (0.1, 2e-4): (0.55, 0.20),  # both dominated by (0.70, 0.05)
            (0.75, 5e-5): (0.70, 0.05)}
    scores = pd.DataFrame([{"alpha": a, "lr": lr, "retain_initial": 0.9, "retain_final": r,
                            "forget_initial": 0.9, "forget_final": f} for (a, lr), (r, f) in runs.items()]
                          ).set_index(["alpha", "lr"])
    picked = frontier_points(scores, chance=0.0)
    assert picked["rank"].tolist() == ["best", "medium", "worst"]
    # the frontier, best retain first: (0.85, .40) (0.82, .35) (0.80, .30) (0.70, .05); three evenly: 1st, 3rd, 4th
    assert [tuple(i) for i in picked.index] == [(0.5, 5e-5), (0.3, 5e-5), (0.75, 5e-5)]
    assert (0.1, 1e-4) not in picked.index and (0.5, 1e-5) not in picked.index
    with pytest.raises(ValueError, match="nothing to choose"):
        frontier_points(scores, chance=0.0, removed=0.99)
