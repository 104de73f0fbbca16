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


def test_adopt_rerun_replaces_tables_and_only_the_claims_the_rerun_holds(tmp_path):
    """A regeneration's tables replace the committed ones; in the claims tables the claims of notebooks it did not
    run stay; the run logs are not adopted; an empty rerun raises."""
    import pytest
    from undo_lib.results import adopt_rerun
    rerun, results = tmp_path / "rerun", tmp_path / "results"
    rerun.mkdir(), results.mkdir()
    claims = lambda names, effect: pd.DataFrame(  # noqa: E731
        [dict(claim=c, setting="s", seed=seed, effect=effect) for c in names for seed in (1, 0)])
    claims(["C1", "C2", "C8"], 0.1).to_csv(results / "claims.csv", index=False)
    claims(["C2", "C1"], 0.5).to_csv(rerun / "claims.csv", index=False)
    pd.DataFrame({"x": [1]}).to_csv(results / "fig2_models.csv", index=False)
    pd.DataFrame({"x": [2]}).to_csv(rerun / "fig2_models.csv", index=False)
    pd.DataFrame({"x": [3]}).to_csv(results / "fig8_relearning.csv", index=False)
    pd.DataFrame({"commit": ["abc"]}).to_csv(rerun / "times.csv", index=False)
    replaced, kept = adopt_rerun(rerun, results)
    assert replaced == ["claims.csv", "fig2_models.csv"] and kept == ["fig8_relearning.csv"]
    t = pd.read_csv(results / "claims.csv")
    assert list(zip(t.claim, t.seed)) == [("C1", 0), ("C1", 1), ("C2", 0), ("C2", 1), ("C8", 0), ("C8", 1)]
    assert list(t.effect) == [0.5] * 4 + [0.1] * 2
    assert pd.read_csv(results / "fig2_models.csv").x.item() == 2
    assert not (results / "times.csv").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no result tables"):
        adopt_rerun(empty, results)
