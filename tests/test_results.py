"""Tidy tables from curves: Fig 7's points."""
import numpy as np
import pandas as pd


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
    capped = stage_points(curves, 15, True, capped={("undo", "p1")}).set_index(["method", "model"]).capped
    assert capped.loc[("undo", "p1")].all() and not capped.drop(("undo", "p1")).any()
