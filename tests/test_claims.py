"""Each claim against hand-made curves and points (the claims table: test_verdicts.py)."""
import numpy as np
import pandas as pd
import pytest

from undo_lib import claims


def test_claim_c1():
    rows = []
    for model, slope in (("Student (Reference)", 0.9), ("Student (Random)", 0.3), ("Oracle", 0.2)):
        for lr, scale in ((1e-3, 1.0), (1e-4, 0.5)):
            rows += [{"model": model, "lr": lr, "step": s, "metric": "forget", "value": min(1, slope * scale * s / 10)}
                     for s in range(0, 11, 5)]
    curves = pd.DataFrame(rows)
    holds, detail = claims.oracle_matching_not_robust(curves, higher_is_better=True)
    assert holds and "Student (Reference) 0.450 (0.900)" in detail
    # as cross-entropy (lower is better) the same numbers mean the reference student relearns slowest
    assert not claims.oracle_matching_not_robust(curves, higher_is_better=False)[0]


def test_claim_c2_needs_every_method_and_both_measures():
    """Accuracy curves rising with slope a per step: U&D must be below Unlearn in auc and at the end, per method."""
    def curve(method, model, slopes):
        return [{"method": method, "model": model, "lr": lr, "step": s, "metric": "forget", "value": a * s}
                for lr, a in zip((1e-3, 1e-4), slopes) for s in range(0, 11, 5)]
    rows = (curve("grad_diff", "Unlearn", (0.05, 0.01)) + curve("grad_diff", "Unlearn-and-Distill", (0.02, 0.01))
            + curve("max_ent", "Unlearn", (0.05, 0.01)) + curve("max_ent", "Unlearn-and-Distill", (0.01, 0.04)))
    with pytest.raises(ValueError, match=r"C2: no rmu in the results"):  # the paper's three methods, or nothing
        claims.distillation_robustifies(pd.DataFrame(rows), higher_is_better=True)
    holds, detail = claims.distillation_robustifies(pd.DataFrame(rows), True, methods=("grad_diff", "max_ent"))
    assert holds and "GradDiff yes: U&D 0.100 (0.200) vs Unlearn 0.250 (0.500)" in detail
    rows += curve("rmu", "Unlearn", (0.03, 0.0)) + curve("rmu", "Unlearn-and-Distill", (0.04, 0.0))
    holds, detail = claims.distillation_robustifies(pd.DataFrame(rows), higher_is_better=True)
    assert not holds and "RMU NO" in detail and "MaxEnt yes" in detail


def test_pareto_front_and_claim_c5():
    acc = pd.DataFrame({"method": ["undo", "undo", "undo", "sam", "sam"],
                        "retain": [0.8, 0.7, 0.6, 0.55, 0.85], "forget": [0.2, 0.1, 0.15, 0.12, 0.3]})
    front = claims.pareto_front(acc[acc.method == "undo"], higher_is_better=True)
    assert front[["retain", "forget"]].values.tolist() == [[0.7, 0.1], [0.8, 0.2]]  # (0.6, 0.15) is dominated
    holds, detail = claims.undo_not_dominated(acc, higher_is_better=True, methods=("sam",))
    assert holds and "no baseline point" in detail and "every method's frontier spans UNDO's retain" in detail
    narrow = pd.concat([acc, pd.DataFrame({"method": ["max_ent"], "retain": [0.9], "forget": [0.5]})])
    detail = claims.undo_not_dominated(narrow, higher_is_better=True, methods=("sam", "max_ent"))[1]
    assert "outside the frontier of MaxEnt (compared" in detail and "SAM" not in detail.split("outside")[1]
    # a dominated low-retain point does not make MaxEnt's frontier reach UNDO's retain (frontier_at clamps there)
    dominated = pd.concat([acc, pd.DataFrame({"method": ["max_ent"] * 2, "retain": [0.5, 0.9],
                                              "forget": [0.95, 0.6]})])
    detail = claims.undo_not_dominated(dominated, higher_is_better=True, methods=("sam", "max_ent"))[1]
    assert "outside the frontier of MaxEnt" in detail
    with pytest.raises(ValueError, match="C5: no grad_diff, max_ent, rmu, npo, simnpo, rep_noise, undial"):
        claims.undo_not_dominated(acc, higher_is_better=True)  # every compared method, or no verdict
    beaten = pd.concat([acc, pd.DataFrame({"method": ["rmu"], "retain": [0.75], "forget": [0.05]})])
    holds, detail = claims.undo_not_dominated(beaten, higher_is_better=True, methods=("sam", "rmu"))
    assert not holds and "rmu (0.75, 0.05) over (0.7, 0.1)" in detail
    # cross-entropy: lower retain loss and higher forget loss are better for the defender
    ce = pd.DataFrame({"method": ["undo", "undial"], "retain": [2.0, 1.9], "forget": [5.0, 5.5]})
    assert not claims.undo_not_dominated(ce, higher_is_better=False, methods=("undial",))[0]


def test_frontier_at_reads_the_pareto_envelope_not_dominated_points():
    # (0.5, 0.5) is dominated by (0.7, 0.3): through all points retain 0.6 would read 0.4, on the frontier 0.3
    got = claims.frontier_at([0.6, 0.8, 0.4], [0.5, 0.7, 0.9], [0.5, 0.3, 0.6], higher_is_better=True)
    assert got.tolist() == pytest.approx([0.3, 0.45, 0.3])
    # cross-entropy: lower retain loss and higher forget loss are better; (2.0, 4.0) is dominated by (1.8, 5.0)
    got = claims.frontier_at([1.9, 2.5], [1.8, 2.0, 3.0], [5.0, 4.0, 7.0], higher_is_better=False)
    assert got.tolist() == pytest.approx([5.0 + 2 * 0.1 / 1.2, 5.0 + 2 * 0.7 / 1.2])  # along (1.8, 5) -> (3, 7)


def test_frontier_at_matches_pareto_front_and_interp_on_random_points():
    rng = np.random.default_rng(0)
    for higher in (True, False):
        for _ in range(50):
            pts = pd.DataFrame({"retain": rng.random(6).round(2), "forget": rng.random(6).round(2)})
            front = claims.pareto_front(pts, higher).drop_duplicates()
            x = rng.random(5)
            expected = np.interp(x, front.retain, front.forget)
            assert claims.frontier_at(x, pts.retain, pts.forget, higher) == pytest.approx(expected)


def test_no_claim_is_decided_on_missing_input():
    import pytest
    empty = pd.DataFrame(columns=["method", "model", "lr", "step", "metric", "value"])
    with pytest.raises(ValueError, match="C2: no relearning curves"):
        claims.distillation_robustifies(empty, higher_is_better=True)
    only_unlearn = pd.DataFrame([{"method": "rmu", "model": "Unlearn", "lr": 1e-3, "step": s, "metric": "forget",
                                  "value": 0.1 * s} for s in (0, 5)])
    with pytest.raises(ValueError, match=r"C2 \(rmu\): no Unlearn-and-Distill"):
        claims.distillation_robustifies(only_unlearn, higher_is_better=True, methods=("rmu",))
    with pytest.raises(ValueError, match="C1: no Student"):
        claims.oracle_matching_not_robust(only_unlearn.drop(columns="method"), higher_is_better=True)
    with pytest.raises(ValueError, match="C5: no undo"):
        claims.undo_not_dominated(pd.DataFrame({"method": ["sam"], "retain": [0.5], "forget": [0.1]}), True,
                                  methods=("sam",))
    table = pd.DataFrame({"alpha": [0.2, 0.8], "beta": [0.1, 0.1], "robustness": [0.1, 0.5], "compute": [0.1, 0.4]})
    with pytest.raises(ValueError, match="C3 needs at least 3 alphas"):
        claims.compute_buys_robustness(table, 0.1)
    with pytest.raises(ValueError, match="C4 needs a grid"):
        claims.alpha_matters_more_than_beta(table, (0.2, 0.8), (0.1, 1.0))
    undefined = pd.DataFrame({"alpha": [0.2, 0.2, 0.8, 0.8], "beta": [0.1, 1.0] * 2, "robustness": [float("nan")] * 4})
    holds, detail = claims.alpha_matters_more_than_beta(undefined, (0.2, 0.8), (0.1, 1.0))
    assert not holds and "undefined" in detail


class _Attack:
    """A stored attack's per-item grades, as Artifact.items holds them."""
    def __init__(self, items):
        self.items = items


def _attacks(rng, strengths, rates=(1e-3, 1e-4), steps=(0, 10, 20), n=60):
    """{label: _Attack} whose forget accuracy on each item rises with the step at a per-model strength, and the
    same curves as a tidy table."""
    attacks, rows = {}, []
    base = rng.random(n)
    for label, strength in strengths.items():
        items = {}
        for k, lr in enumerate(rates):
            for step in steps:
                p = np.clip(base * 0.2 + strength * step / 20 * (1 - 0.3 * k), 0, 1)
                items[(lr, step, "forget")] = (rng.random(n) < p).astype(float)
                rows.append({"model": label, "lr": lr, "step": step, "metric": "forget",
                             "value": items[(lr, step, "forget")].mean()})
        attacks[label] = _Attack(items)
    return attacks, pd.DataFrame(rows)


def test_c1_interval_is_the_curves_margin_and_decides_the_verdict():
    import numpy as np
    rng = np.random.default_rng(0)
    attacks, curves = _attacks(rng, {"Student (Reference)": 0.8, "Student (Random)": 0.2, "Oracle": 0.1})
    got = claims.oracle_matching_interval(attacks, higher_is_better=True)
    auc = claims.relearning_summary(curves, True)["auc"]
    want = auc["Student (Reference)"] - max(auc["Student (Random)"], auc["Oracle"])
    assert abs(got.effect - want) < 1e-9 and got.low < want < got.high and got.verdict == "holds"
    tied, _ = _attacks(rng, {"Student (Reference)": 0.3, "Student (Random)": 0.3, "Oracle": 0.3})
    assert claims.oracle_matching_interval(tied, higher_is_better=True).verdict == "inconclusive"
    reversed_, _ = _attacks(rng, {"Student (Reference)": 0.1, "Student (Random)": 0.8, "Oracle": 0.7})
    assert claims.oracle_matching_interval(reversed_, higher_is_better=True).verdict == "fails"
    # clusters reach the bootstrap (stats.py draws whole clusters): one item per cluster is the item bootstrap
    single = claims.oracle_matching_interval(attacks, True, clusters=np.arange(60)[::-1])
    assert single.effect == got.effect and 0.7 < (single.high - single.low) / (got.high - got.low) < 1.3
    with pytest.raises(ValueError, match="one cluster per item"):
        claims.oracle_matching_interval(attacks, True, clusters=np.arange(59))


def test_c2_interval_takes_the_weakest_method_and_measure():
    import numpy as np
    rng = np.random.default_rng(1)
    strong, curves_a = _attacks(rng, {"Unlearn": 0.9, "Unlearn-and-Distill": 0.1})
    weak, curves_b = _attacks(rng, {"Unlearn": 0.5, "Unlearn-and-Distill": 0.45})
    both = claims.distillation_interval({"grad_diff": strong, "rmu": weak}, True, methods=("grad_diff", "rmu"))
    alone = claims.distillation_interval({"grad_diff": strong}, True, methods=("grad_diff",))
    with pytest.raises(ValueError, match="C2: no max_ent"):
        claims.distillation_interval({"grad_diff": strong, "rmu": weak}, higher_is_better=True)
    assert both.effect < alone.effect and alone.verdict == "holds" and both.low < alone.low
    s = claims.relearning_summary(curves_b, True)
    assert abs(both.effect - min(s.loc["Unlearn", k] - s.loc["Unlearn-and-Distill", k] for k in ("auc", "final"))) < 1e-9
    with pytest.raises(ValueError, match="per-item grades missing"):
        claims.distillation_interval({"rmu": {"Unlearn": _Attack({}), "Unlearn-and-Distill": _Attack({})}}, True,
                                     methods=("rmu",))


def _undo_attacks(rng, student_strengths):
    """UNDO students {(alpha, beta): strength} with Unlearn (0.9) and Data Filtering (0.1): a weaker relearner is
    more robust."""
    strengths = {f"UNDO alpha={a:g} beta={b:g}": v for (a, b), v in student_strengths.items()}
    return _attacks(rng, {**strengths, "Unlearn": 0.9, "Data Filtering": 0.1}, n=200)


def test_c3_and_c4_intervals_read_the_robustness_of_every_student():
    rng = np.random.default_rng(3)
    rising = {(0.2, 0.1): 0.7, (0.6, 0.1): 0.5, (0.8, 0.1): 0.3, (0.2, 1.0): 0.65, (0.8, 1.0): 0.25}
    attacks, curves = _undo_attacks(rng, rising)
    table = pd.DataFrame([{"alpha": a, "beta": b, "compute": a / 2} for a, b in rising])
    c3 = claims.compute_buys_robustness_interval(attacks, table, 0.1, higher_is_better=True)
    assert abs(c3.effect - 0.2) < 1e-9 and c3.verdict == "holds"  # Spearman 1 against the threshold 0.8
    c4 = claims.alpha_matters_more_interval(attacks, (0.2, 0.8), (0.1, 1.0), higher_is_better=True)
    s = claims.relearning_summary(curves, True)["auc"]
    r = {p: (s[f"UNDO alpha={p[0]:g} beta={p[1]:g}"] - s["Unlearn"]) / (s["Data Filtering"] - s["Unlearn"])
         for p in rising}
    want = np.mean([abs(r[(0.8, b)] - r[(0.2, b)]) for b in (0.1, 1.0)]) - np.mean(
        [abs(r[(a, 1.0)] - r[(a, 0.1)]) for a in (0.2, 0.8)])
    assert abs(c4.effect - want) < 1e-9 and c4.verdict == "holds"
    flat, _ = _undo_attacks(rng, {k: 0.5 for k in rising})
    assert claims.compute_buys_robustness_interval(flat, table, 0.1, True).verdict != "holds"
    tied = dict(attacks)  # three students graded alike, item by item: equal robustness in every replicate
    for a in (0.6, 0.8):
        tied[f"UNDO alpha={a:g} beta=0.1"] = attacks["UNDO alpha=0.2 beta=0.1"]
    c3_tied = claims.compute_buys_robustness_interval(tied, table, 0.1, True)
    assert abs(c3_tied.effect + 1.8) < 1e-9 and c3_tied.verdict == "fails"  # no order: -1 against 0.8
    with pytest.raises(ValueError, match="C4 needs every point"):
        claims.alpha_matters_more_interval(attacks, (0.2, 0.6), (0.1, 1.0), True)


def _comparison(rng, methods):
    """{method: {label: _Attack}} with retain graded at step 0 and forget at the end: each point (retain, forget)."""
    n, out = 300, {}
    for method, points in methods.items():
        out[method] = {}
        for k, (retain, forget) in enumerate(points):
            items = {}
            for lr in (1e-3, 1e-4):
                items[(lr, 0, "retain")] = (rng.random(n) < retain).astype(float)
                for step, p in ((0, 0.0), (10, forget if lr == 1e-3 else forget / 2)):
                    items[(lr, step, "forget")] = (rng.random(n) < p).astype(float)
            out[method][f"p{k}"] = _Attack(items)
    return out


def test_c5_interval_compares_at_matched_retain():
    rng = np.random.default_rng(4)
    undo = [(0.8, 0.1), (0.6, 0.05)]
    better = _comparison(rng, {"undo": undo, "max_ent": [(0.5, 0.4), (0.9, 0.6)], "sam": [(0.7, 0.5)]})
    got = claims.undo_matched_retain_interval(better, higher_is_better=True, methods=("max_ent", "sam"))
    assert got.verdict == "holds" and 0.2 < got.effect < 0.5  # MaxEnt at retain 0.8: forget ~0.53, UNDO 0.1
    worse = _comparison(rng, {"undo": undo, "rmu": [(0.55, 0.0), (0.85, 0.02)]})
    assert claims.undo_matched_retain_interval(worse, True, methods=("rmu",)).verdict == "fails"
    with pytest.raises(ValueError, match="C5: no max_ent"):
        claims.undo_matched_retain_interval({"undo": better["undo"]}, True, methods=("max_ent", "sam"))
    with pytest.raises(ValueError, match="C5: no grad_diff"):  # by default every method compared in Section 6
        claims.undo_matched_retain_interval(better, higher_is_better=True)


def test_c5_interval_reads_each_methods_frontier_not_its_dominated_points():
    rng = np.random.default_rng(5)
    undo = [(0.8, 0.1), (0.6, 0.05)]
    # MaxEnt's (0.7, 0.9) is dominated by its (0.9, 0.6): on the frontier MaxEnt reads 0.55 at retain 0.8, so the
    # margin is about 0.45; a line through every point would read 0.75 there and give about 0.65
    points = {"undo": undo, "max_ent": [(0.5, 0.4), (0.7, 0.9), (0.9, 0.6)], "sam": [(0.7, 0.8)]}
    got = claims.undo_matched_retain_interval(_comparison(rng, points), True, methods=("max_ent", "sam"))
    assert got.verdict == "holds" and 0.35 < got.effect < 0.55


def test_c5_at_the_papers_alpha_leaves_out_the_stronger_student():
    rng = np.random.default_rng(6)
    # the alpha = 0.9 student alone beats MaxEnt at its retain; the alpha = 0.6 points do not
    undo = {"alpha=0.6 threshold=0.95": (0.8, 0.7), "alpha=0.6 threshold=0.9": (0.7, 0.65),
            "alpha=0.9 threshold=0.95": (0.8, 0.1)}
    attacks = _comparison(rng, {"undo": list(undo.values()), "max_ent": [(0.5, 0.4), (0.9, 0.6)]})
    attacks["undo"] = dict(zip(undo, attacks["undo"].values()))
    both = claims.undo_matched_retain_interval(attacks, True, methods=("max_ent",))
    paper = claims.undo_alpha_only(attacks, 0.6)
    assert sorted(paper["undo"]) == ["alpha=0.6 threshold=0.9", "alpha=0.6 threshold=0.95"]
    assert paper["max_ent"] is attacks["max_ent"] and len(attacks["undo"]) == 3  # the input is left alone
    assert both.verdict == "holds"
    assert claims.undo_matched_retain_interval(paper, True, methods=("max_ent",)).verdict == "fails"
    with pytest.raises(ValueError, match="no UNDO point at alpha=0.4"):
        claims.undo_alpha_only(attacks, 0.4)
