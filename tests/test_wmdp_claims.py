"""C8 (Section 6): UNDO more resilient than its teacher, the attacker choosing adversary and learning rate."""

import numpy as np
import pandas as pd
import pytest

from undo_lib import claims, wmdp_claims

from test_claims import _attacks  # synthetic attacks with per-item grades


def _by_adversary(rng, plan):
    """plan {adversary: {method: {label: strength}}} -> (attacks, tidy curves with adversary and method)."""
    attacks, frames = {}, []
    for adversary, methods in plan.items():
        attacks[adversary] = {}
        for method, strengths in methods.items():
            attacks[adversary][method], curves = _attacks(rng, strengths, n=80)
            frames.append(curves.assign(adversary=adversary, method=method))
    return attacks, pd.concat(frames, ignore_index=True)


def test_the_attacker_takes_the_best_adversary_and_c8_is_its_margin():
    rng = np.random.default_rng(0)
    # the qa adversary is the strong one against UNDO: the claim must be judged against it, not the raw one
    plan = {"raw": {"max_ent": {"Unlearn": 0.9, "UNDO": 0.1}, "rmu": {"Unlearn": 0.8, "UNDO": 0.1}},
            "qa": {"max_ent": {"Unlearn": 0.9, "UNDO": 0.4}, "rmu": {"Unlearn": 0.8, "UNDO": 0.3}}}
    attacks, curves = _by_adversary(rng, plan)
    holds, detail = wmdp_claims.undo_more_resilient(curves, higher_is_better=True, methods=("max_ent", "rmu"))
    assert holds and "MaxEnt yes: UNDO" in detail and "RMU yes" in detail
    with pytest.raises(ValueError, match="C8: no max_ent_kl, rmu_section6"):  # by default Section 6's two methods
        wmdp_claims.undo_more_resilient(curves, higher_is_better=True)
    merged = wmdp_claims.against_every_adversary(curves.assign(key=curves.adversary))  # a store key per attack
    assert "key" not in merged
    s = claims.relearning_summary(merged[merged.method == "max_ent"], True)
    from undo_lib.attack import worst_case
    per_adversary = [worst_case(curves[(curves.method == "max_ent") & (curves.adversary == a)], True)
                     .query("model == 'UNDO'").set_index("step").value for a in ("raw", "qa")]
    best = pd.concat(per_adversary, axis=1).max(axis=1)  # at each step, the better adversary's best rate
    assert s.loc["UNDO", "auc"] == pytest.approx(claims.area_under_curve(best.reset_index(name="value")))
    interval = wmdp_claims.undo_resilience_interval(attacks, higher_is_better=True, methods=("max_ent", "rmu"))
    with pytest.raises(ValueError, match="C8: no max_ent_kl, rmu_section6"):
        wmdp_claims.undo_resilience_interval(attacks, higher_is_better=True)
    want = min(claims.relearning_summary(merged[merged.method == m], True).pipe(
        lambda t: min(t.loc["Unlearn", k] - t.loc["UNDO", k] for k in ("auc", "final"))) for m in ("max_ent", "rmu"))
    assert interval.effect == pytest.approx(want) and interval.verdict == "holds"


def test_c8_fails_or_is_inconclusive_when_undo_is_not_more_resilient_and_never_decides_on_nothing():
    rng = np.random.default_rng(1)
    plan = {"raw": {"max_ent": {"Unlearn": 0.5, "UNDO": 0.5}}, "qa": {"max_ent": {"Unlearn": 0.5, "UNDO": 0.9}}}
    attacks, curves = _by_adversary(rng, plan)
    assert not wmdp_claims.undo_more_resilient(curves, True, methods=("max_ent",))[0]
    assert wmdp_claims.undo_resilience_interval(attacks, True, methods=("max_ent",)).verdict == "fails"
    with pytest.raises(ValueError, match="no relearning attacks"):
        wmdp_claims.undo_resilience_interval({}, True)
    with pytest.raises(ValueError, match="C8 \\(max_ent, qa\\): no UNDO"):
        wmdp_claims.undo_resilience_interval({"raw": attacks["raw"], "qa": {"max_ent": {
            "Unlearn": attacks["qa"]["max_ent"]["Unlearn"]}}}, True, methods=("max_ent",))
    with pytest.raises(ValueError, match="adversary"):
        wmdp_claims.against_every_adversary(curves.drop(columns="adversary"))


def test_c9_reads_the_largest_alphas_student_against_the_recovery_bar():
    rng = np.random.default_rng(2)
    n = 300
    teacher = (rng.random(n) < 0.8).astype(float)
    students = {0.0: teacher.copy(), 0.25: (rng.random(n) < 0.78).astype(float),
                0.6: (rng.random(n) < 0.40).astype(float)}
    table = wmdp_claims.alpha_table(teacher, students)
    assert table.alpha.tolist() == [0.0, 0.25, 0.6] and table.recovered.tolist()[0] and not table.recovered.iloc[-1]
    holds, detail, interval = wmdp_claims.higher_alpha_does_not_recover(teacher, students)
    assert holds and interval.verdict == "holds" and "alpha 0.6" in detail
    assert interval.effect == pytest.approx(0.95 * teacher.mean() - students[0.6].mean())
    recovered = {**students, 0.6: teacher.copy()}  # the damaged student got its retain back: C9 fails
    assert wmdp_claims.higher_alpha_does_not_recover(teacher, recovered)[2].verdict != "holds"
    with pytest.raises(ValueError, match="no students"):
        wmdp_claims.higher_alpha_does_not_recover(teacher, {})


def test_table13_by_budget_reads_each_students_retain_curve_against_the_bar():
    def curve(values):  # validation curves as a stage stores them: losses between the checks
        rows = [{"step": s, "metric": "retain", "value": v} for s, v in zip((0, 125, 250, 500), values)]
        return pd.DataFrame(rows + [{"step": 7, "metric": "loss", "value": 2.0}])
    table = wmdp_claims.alpha_budget_table(0.9, {0.6: curve([0.17, 0.44, 0.74, 0.87]),
                                                 0.0: curve([0.92, 0.88, 0.82, 0.86])})
    assert table.alpha.tolist() == [0.0] * 4 + [0.6] * 4 and table.step.tolist() == [0, 125, 250, 500] * 2
    assert table.budget_share.tolist() == [0, 0.25, 0.5, 1.0] * 2
    # the bar is 0.95 x 0.9 = 0.855: alpha 0 recovers at once and at 125 and 500 steps, alpha 0.6 only at the end
    assert table.recovered.tolist() == [True, True, False, True, False, False, False, True]
    with pytest.raises(ValueError, match="alpha 0.25 has no retain curve"):
        wmdp_claims.alpha_budget_table(0.9, {0.25: curve([0.5] * 4).query("metric == 'loss'")})


def test_the_strongest_adversary_is_the_one_that_reaches_the_attackers_best_at_the_end():
    rng = np.random.default_rng(2)
    plan = {"raw": {"max_ent": {"Unlearn": 0.9, "UNDO": 0.1}}, "qa": {"max_ent": {"Unlearn": 0.2, "UNDO": 0.6}}}
    _, curves = _by_adversary(rng, plan)
    got = wmdp_claims.strongest_adversary(curves, higher_is_better=True)
    assert "adversary" not in got and len(got) == len(curves) // 2
    for model, adversary in (("Unlearn", "raw"), ("UNDO", "qa")):
        want = curves[(curves.model == model) & (curves.adversary == adversary)].drop(columns="adversary")
        pd.testing.assert_frame_equal(got[got.model == model].reset_index(drop=True), want.reset_index(drop=True))
