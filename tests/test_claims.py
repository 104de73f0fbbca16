"""Each claim against hand-made curves and points, and the claims table."""
import pandas as pd

from undo_lib import claims


def test_claim_c1_and_the_claims_table(tmp_path):
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
    claims.record(tmp_path, "C1", "arithmetic", "smoke", 0, holds, detail)
    claims.record(tmp_path, "C1", "arithmetic", "smoke", 0, False, "rerun")
    claims.record(tmp_path, "C1", "language", "smoke", 0, True, "x")
    table = claims.table(tmp_path, "C1", "smoke")
    assert table[["setting", "holds", "detail"]].values.tolist() == [["arithmetic", False, "rerun"],
                                                                      ["language", True, "x"]]


def test_claim_c2_needs_every_method_and_both_measures():
    """Accuracy curves rising with slope a per step: U&D must be below Unlearn in auc and at the end, per method."""
    def curve(method, model, slopes):
        return [{"method": method, "model": model, "lr": lr, "step": s, "metric": "forget", "value": a * s}
                for lr, a in zip((1e-3, 1e-4), slopes) for s in range(0, 11, 5)]
    rows = (curve("grad_diff", "Unlearn", (0.05, 0.01)) + curve("grad_diff", "Unlearn-and-Distill", (0.02, 0.01))
            + curve("max_ent", "Unlearn", (0.05, 0.01)) + curve("max_ent", "Unlearn-and-Distill", (0.01, 0.04)))
    holds, detail = claims.distillation_robustifies(pd.DataFrame(rows), higher_is_better=True)
    assert holds and "GradDiff yes: U&D 0.100 (0.200) vs Unlearn 0.250 (0.500)" in detail
    rows += curve("rmu", "Unlearn", (0.03, 0.0)) + curve("rmu", "Unlearn-and-Distill", (0.04, 0.0))
    holds, detail = claims.distillation_robustifies(pd.DataFrame(rows), higher_is_better=True)
    assert not holds and "RMU NO" in detail and "MaxEnt yes" in detail


def test_readme_claims_table_is_regenerated_between_its_markers(tmp_path):
    claims.record(tmp_path, "C2", "language", "cpu", 1, False, "U&D 3.1 vs Unlearn 3.4")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{claims.README_START.format(scale='cpu')}\nold table\n{claims.README_END}\nrest\n")
    assert claims.update_readme(readme, tmp_path, "cpu")
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert "| C2 | language | cpu | 1 | **no** | U&D 3.1 vs Unlearn 3.4 |" in text
    assert not claims.update_readme(readme, tmp_path, "gpu")  # no markers for that scale


def test_pareto_front_and_claim_c5():
    acc = pd.DataFrame({"method": ["undo", "undo", "undo", "sam", "sam"],
                        "retain": [0.8, 0.7, 0.6, 0.65, 0.85], "forget": [0.2, 0.1, 0.15, 0.12, 0.3]})
    front = claims.pareto_front(acc[acc.method == "undo"], higher_is_better=True)
    assert front[["retain", "forget"]].values.tolist() == [[0.7, 0.1], [0.8, 0.2]]  # (0.6, 0.15) is dominated
    holds, detail = claims.undo_not_dominated(acc, higher_is_better=True)
    assert holds and "no baseline point" in detail
    beaten = pd.concat([acc, pd.DataFrame({"method": ["rmu"], "retain": [0.75], "forget": [0.05]})])
    holds, detail = claims.undo_not_dominated(beaten, higher_is_better=True)
    assert not holds and "rmu (0.75, 0.05) over (0.7, 0.1)" in detail
    # cross-entropy: lower retain loss and higher forget loss are better for the defender
    ce = pd.DataFrame({"method": ["undo", "undial"], "retain": [2.0, 1.9], "forget": [5.0, 5.5]})
    assert not claims.undo_not_dominated(ce, higher_is_better=False)[0]


def test_no_claim_is_decided_on_missing_input():
    import pytest
    empty = pd.DataFrame(columns=["method", "model", "lr", "step", "metric", "value"])
    with pytest.raises(ValueError, match="C2: no relearning curves"):
        claims.distillation_robustifies(empty, higher_is_better=True)
    only_unlearn = pd.DataFrame([{"method": "rmu", "model": "Unlearn", "lr": 1e-3, "step": s, "metric": "forget",
                                  "value": 0.1 * s} for s in (0, 5)])
    with pytest.raises(ValueError, match=r"C2 \(rmu\): no Unlearn-and-Distill"):
        claims.distillation_robustifies(only_unlearn, higher_is_better=True)
    with pytest.raises(ValueError, match="C1: no Student"):
        claims.oracle_matching_not_robust(only_unlearn.drop(columns="method"), higher_is_better=True)
    with pytest.raises(ValueError, match="C5 needs UNDO's points"):
        claims.undo_not_dominated(pd.DataFrame({"method": ["sam"], "retain": [0.5], "forget": [0.1]}), True)
    table = pd.DataFrame({"alpha": [0.2, 0.8], "beta": [0.1, 0.1], "robustness": [0.1, 0.5], "compute": [0.1, 0.4]})
    with pytest.raises(ValueError, match="C3 needs at least 3 alphas"):
        claims.compute_buys_robustness(table, 0.1)
    with pytest.raises(ValueError, match="C4 needs a grid"):
        claims.alpha_matters_more_than_beta(table, (0.2, 0.8), (0.1, 1.0))
    undefined = pd.DataFrame({"alpha": [0.2, 0.2, 0.8, 0.8], "beta": [0.1, 1.0] * 2, "robustness": [float("nan")] * 4})
    holds, detail = claims.alpha_matters_more_than_beta(undefined, (0.2, 0.8), (0.1, 1.0))
    assert not holds and "undefined" in detail
