"""The README's generated results tables: built from the CSVs alone, and the committed README agrees with them."""
import pandas as pd
import pytest

from undo_lib import repo_path, report


def test_undo_table_marks_a_student_that_stopped_at_the_cap(tmp_path):
    rows = [dict(alpha=0.8, beta=0.1, steps=s, compute=c, forget_auc=0.5, robustness=r, recovered=ok, key="k",
                 scale="cpu", setting="arithmetic", seed=seed)
            for seed, s, c, r, ok in ((0, 625, 0.25, 0.83, True), (1, 1250, 0.5, 0.91, False))]
    pd.DataFrame(rows).to_csv(tmp_path / "fig5_undo.csv", index=False)
    table = report.undo(tmp_path).splitlines()
    assert table[0].startswith("| setting (seeds 0, 1) | α | β |")
    assert table[2] == "| arithmetic | 0.8 | 0.1 | 625 / 1250 | 0.25 / 0.50 | 0.83 / 0.91 | yes / **no** |"


def test_a_missing_table_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="fig2_models.csv"):
        report.models(tmp_path)


def test_an_unknown_table_in_the_readme_is_an_error(tmp_path):
    text = report.START.format(name="nonesuch", path="results/cpu") + "\nx\n" + report.END.format(name="nonesuch")
    with pytest.raises(ValueError, match="nonesuch"):
        report.render(text, tmp_path)


def test_render_rewrites_only_the_block(tmp_path):
    pd.DataFrame([dict(alpha=0.2, beta=1.0, steps=25, compute=0.05, forget_auc=0.1, robustness=0.04,
                       recovered=True, key="k", scale="cpu", setting="language", seed=0)]).to_csv(
        tmp_path / "fig5_undo.csv", index=False)
    start, end = report.START.format(name="undo", path="r"), report.END.format(name="undo")
    (tmp_path / "r").mkdir()
    (tmp_path / "fig5_undo.csv").rename(tmp_path / "r" / "fig5_undo.csv")
    out = report.render(f"before\n{start}\nstale\n{end}\nafter\n", tmp_path)
    assert out.startswith(f"before\n{start}\n| setting (seeds 0) |") and out.endswith(f"{end}\nafter\n")
    assert "stale" not in out and "| language | 0.2 | 1 | 25 | 0.05 | 0.04 | yes |" in out


def test_the_readme_tables_are_those_of_the_committed_csvs():
    """`python -m undo_lib.report` was run after the last change to a CSV the README's tables read."""
    text = repo_path("README.md").read_text()
    found = report.blocks(text)
    assert {name for name, _, _ in found} == set(report.tables())  # every table is in the README
    for name, path, content in found:
        assert content == report.tables()[name](repo_path(path)), f"README table {name} is stale: run the report"


def test_changes_flags_a_verdict_that_turned(tmp_path):
    common = dict(scale="cpu", setting="arithmetic", detail="d")
    pd.DataFrame([dict(claim="C5", seed=0, holds=False, **common),
                  dict(claim="C1", seed=0, holds=True, **common)]).to_csv(tmp_path / "claims_v1.csv", index=False)
    pd.DataFrame([dict(claim=c, seed=s, holds=True, verdict="holds", effect=0.2, ci_low=0.1, ci_high=0.3, **common)
                  for c in ("C1", "C5") for s in (0, 1)]).to_csv(tmp_path / "claims.csv", index=False)
    pd.DataFrame([dict(claim=c, setting="arithmetic", scale="cpu", seed=s, draw=d, value=0.15 + 0.001 * d)
                  for c in ("C1", "C5") for s in (0, 1) for d in range(100)]).to_csv(
        tmp_path / "claims_draws.csv", index=False)
    rows = report.changes(tmp_path).splitlines()[2:]
    assert rows == ["| C1 | arithmetic | 1 / 0 | 2 / 0 / 0 | holds | no |",
                    "| C5 | arithmetic | 0 / 1 | 2 / 0 / 0 | holds | **fails → holds** |"]


def test_changes_v2_compares_pooled_verdicts_and_flags_one_that_turned(tmp_path):
    from undo_lib import verdicts
    from undo_lib.stats import Interval
    for claim, centre in (("C1", 0.2), ("C5", 0.01)):  # now: C1 clearly holds, C5's interval straddles zero
        for seed in (0, 1):
            draws = centre + 0.02 * pd.Series(range(-50, 50)).to_numpy() / 50
            verdicts.record(tmp_path, claim, "arithmetic", "cpu", seed, True, "d",
                            interval=Interval(centre, centre - 0.02, centre + 0.02, draws))
    before = verdicts.summary(tmp_path)
    before.loc[before.claim == "C5", ["verdict", "effect", "ci_low", "ci_high"]] = ["holds", 0.3, 0.2, 0.4]
    before.to_csv(tmp_path / "claims_v2_summary.csv", index=False)
    rows = report.changes_v2(tmp_path).splitlines()[2:]
    assert rows[0].startswith("| C1 | arithmetic | holds, +0.200 [") and rows[0].endswith("(2 seeds) | no |")
    assert rows[1].startswith("| C5 | arithmetic | holds, +0.300 [+0.200, +0.400] (2 seeds) | **inconclusive**, +0.010")
    assert rows[1].endswith("| **holds → inconclusive** |") and len(rows) == 2


def test_edges_lists_an_edge_win_an_unfinished_attack_and_a_choice_at_a_sweeps_end(tmp_path):
    ends = {"Oracle": (5.0, 4.0, 3.9), "Student (Reference)": (5.0, 3.0, 3.5), "Student (Random)": (6.0,) * 3}
    rows = [dict(model=m, lr=lr, step=step, metric="forget", value=v if step else 6.0, key="k", scale="cpu",
                 setting="language", seed=1)
            for m, values in ends.items() for lr, v in zip((1e-4, 1e-3, 3e-2), values) for step in (0, 10)]
    pd.DataFrame(rows).to_csv(tmp_path / "fig2_relearning.csv", index=False)
    for name in ("fig4_relearning", "fig5_relearning"):
        pd.DataFrame(rows).iloc[:0].to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame([dict(method="rmu", lr=lr, chosen=lr == 100, setting="language", seed=1) for lr in (1, 10, 100)]
                 + [dict(method="max_ent", lr=lr, chosen=lr == 2e-4, setting="language", seed=1)
                    for lr in (1e-4, 2e-4, 3e-4)]).to_csv(tmp_path / "fig3_choices.csv", index=False)
    table = report.edges(tmp_path).splitlines()[2:]
    assert table == [  # the random student's attack is flat: no row
        "| rate grid (fig2_relearning) | language | 1 | Oracle | 0.03 | rates 0.0001 … 0.03 | 0.100 |",
        "| attack length (fig2_relearning) | language | 1 | Oracle | – | steps 0 → 10 | 2.100 |",
        "| attack length (fig2_relearning) | language | 1 | Student (Reference) | – | steps 0 → 10 | 3.000 |",
        "| unlearning sweep (fig3_choices) | language | 1 | RMU | 100 | rates 1 … 100 | – |"]
    # notebook 04's per-rate table, where saved, is checked too; Data Filtering is listed from fig2 alone
    pd.DataFrame([dict(r, method="rmu", model="lr=1") for r in rows if r["model"] == "Oracle"]
                 + [dict(r, method="data_filtering", model="Data Filtering") for r in rows if r["model"] == "Oracle"]
                 ).to_csv(tmp_path / "fig7_relearning.csv", index=False)
    table = report.edges(tmp_path).splitlines()[2:]
    assert [row for row in table if "fig7" in row] == [
        "| rate grid (fig7_relearning) | language | 1 | RMU / lr=1 | 0.03 | rates 0.0001 … 0.03 | 0.100 |",
        "| attack length (fig7_relearning) | language | 1 | RMU / lr=1 | – | steps 0 → 10 | 2.100 |"]
    # notebook 05's, by each model's strongest adversary of Table 12 (an accuracy: the attacker wants it high);
    # wiki-qa-long is weaker everywhere and its own grid is not judged
    wmdp = [dict(r, adversary=a, method="max_ent_kl", model="UNDO", setting="wmdp", value=-r["value"] - weaker)
            for r in rows if r["model"] == "Oracle" for a, weaker in (("forget/retain", 0), ("wiki-qa-long", 1))]
    pd.DataFrame(wmdp).to_csv(tmp_path / "fig8_relearning.csv", index=False)
    table = report.edges(tmp_path).splitlines()[2:]
    assert [row for row in table if "fig8" in row and "rate grid" in row] == [
        "| rate grid (fig8_relearning) | wmdp | 1 | MaxEnt / UNDO | 0.03 | rates 0.0001 … 0.03 | 0.100 |"]


def test_c5_margin_from_points_interpolates_each_method_at_undos_retain():
    rows = [("undo", "alpha=0.8 threshold=0.05", 0.6, 0.2), ("undo", "alpha=0.6 threshold=0.05", 0.7, 0.45),
            ("rmu", "lr=1", 0.5, 0.5), ("rmu", "lr=2", 0.7, 0.3), ("max_ent", "lr=1", 0.6, 0.35),
            ("data_filtering", "Data Filtering", 0.9, 0.0)]
    points = pd.DataFrame([dict(method=m, model=p, stage="long", retain=r, forget=f) for m, p, r, f in rows])
    # RMU's (0.5, 0.5) is dominated by its (0.7, 0.3), so its frontier is that point alone: at retain 0.6 RMU 0.3
    # (clamped; a line through both points would read 0.4 and give 0.15 in all), MaxEnt 0.35; UNDO 0.2: margins 0.1
    # and 0.15, the smaller counts; Data Filtering is no competitor
    assert report.matched_retain_margin(points, True) == pytest.approx(0.1)
    # the alpha = 0.6 point alone: RMU 0.3 at 0.7, MaxEnt 0.35 (clamped): margins -0.15, -0.1
    assert report.matched_retain_margin(points, True, ["alpha=0.6 threshold=0.05"]) == pytest.approx(-0.15)
    # cross-entropy: less retain loss and more forget loss are better for the defender, so both axes flip
    losses = points.assign(retain=-points.retain, forget=-points.forget)
    assert report.matched_retain_margin(losses, False) == pytest.approx(0.1)


def test_the_metric_direction_comes_from_each_setting():
    """TOFU's Q&A probability, like an accuracy, rises with capability; a cross-entropy falls."""
    assert [report._higher_is_better(s) for s in ("arithmetic", "wmdp", "tofu", "language")] == [True] * 3 + [False]


def test_c5_alpha_shows_the_recorded_alpha_06_interval_where_notebook_04_wrote_one(tmp_path):
    from undo_lib import verdicts
    from undo_lib.stats import Interval
    rows = [("undo", "alpha=0.8 threshold=0.05", 0.6, 0.2), ("undo", "alpha=0.6 threshold=0.05", 0.7, 0.45),
            ("rmu", "lr=2", 0.7, 0.3), ("max_ent", "lr=1", 0.6, 0.35)]
    points = pd.DataFrame([dict(method=m, model=p, stage="long", retain=r, forget=f, setting="arithmetic", seed=s)
                           for s in (0, 1) for m, p, r, f in rows])
    points.to_csv(tmp_path / "fig7_points.csv", index=False)
    for seed in (0, 1):
        verdicts.record(tmp_path, "C5", "arithmetic", "cpu", seed, True, "d", interval=Interval(0.1, 0.05, 0.15))
    pd.DataFrame([dict(alpha=0.6, effect=-0.15, ci_low=-0.2, ci_high=-0.1, verdict="fails", scale="cpu",
                       setting="arithmetic", seed=0)]).to_csv(tmp_path / "c5_paper_alpha.csv", index=False)
    got = report.c5_alpha(tmp_path).splitlines()[2:]
    assert got[0] == "| arithmetic | 0 | +0.100 [+0.050, +0.150] | +0.100 | -0.150 | **fails**, -0.150 [-0.200, -0.100] |"
    assert got[1].endswith("| -0.150 | – |")  # seed 1: notebook 04 recorded no alpha = 0.6 interval
