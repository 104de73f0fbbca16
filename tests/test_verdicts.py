"""The claims table: rows recorded and replaced, verdicts from intervals, seeds pooled from the recorded draws, and
the README's tables, which must be those of the committed claims.csv."""
import re

import numpy as np
import pandas as pd

from undo_lib import repo_path, verdicts
from undo_lib.stats import Interval, pooled


def test_record_replaces_a_row_with_the_same_keys(tmp_path):
    verdicts.record(tmp_path, "C1", "arithmetic", "smoke", 0, True, "first")
    verdicts.record(tmp_path, "C1", "arithmetic", "smoke", 0, False, "rerun")
    verdicts.record(tmp_path, "C1", "language", "smoke", 0, True, "x")
    table = verdicts.table(tmp_path, "C1", "smoke")
    assert table[["setting", "holds", "verdict", "detail"]].values.tolist() == [
        ["arithmetic", False, "fails", "rerun"], ["language", True, "holds", "x"]]


def test_an_interval_decides_the_recorded_verdict(tmp_path):
    draws = np.linspace(-0.01, 0.05, 1000)
    straddles = Interval(0.02, -0.005, 0.045, draws)
    verdicts.record(tmp_path, "C2", "arithmetic", "cpu", 0, True, "numbers", interval=straddles)
    row = verdicts.table(tmp_path).iloc[0]
    assert row.verdict == "inconclusive" and not row.holds and row.ci_low == -0.005
    assert "| **inconclusive** | +0.020 [-0.005, +0.045] | numbers |" in verdicts.markdown(tmp_path)
    assert len(pd.read_csv(tmp_path / verdicts.DRAWS_CSV)) == 1000


def test_summary_pools_each_claim_over_seeds_from_the_recorded_draws(tmp_path):
    rng = np.random.default_rng(0)
    by_seed = {}
    for seed, centre in ((0, 0.30), (1, 0.20), (2, -0.02)):
        draws = centre + 0.03 * rng.standard_normal(1000)
        by_seed[seed] = Interval(centre, float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975)), draws)
        verdicts.record(tmp_path, "C1", "arithmetic", "cpu", seed, True, f"seed {seed}", interval=by_seed[seed])
    verdicts.record(tmp_path, "C2", "language", "cpu", 0, True, "no interval")
    s = verdicts.summary(tmp_path, "cpu").set_index(["claim", "setting"])
    c1 = s.loc[("C1", "arithmetic")]
    assert (c1.seeds, c1.holds, c1.fails, c1.inconclusive) == (3, 2, 0, 1)
    want = pooled(by_seed)
    assert np.isclose(c1.effect, 0.16) and np.isclose(c1.ci_low, want.low, atol=1e-4)
    assert c1.verdict == want.verdict
    # spread between seeds widens the pooled interval beyond any one seed's
    assert c1.ci_high - c1.ci_low > max(i.high - i.low for i in by_seed.values())
    c2 = s.loc[("C2", "language")]  # a seed without replicates: no pooled interval, never "holds"
    assert c2.verdict == "inconclusive" and np.isnan(c2.effect) and c2.holds == 1
    # re-recording a seed replaces its draws rather than adding to them
    verdicts.record(tmp_path, "C1", "arithmetic", "cpu", 2, True, "again", interval=by_seed[2])
    assert len(pd.read_csv(tmp_path / verdicts.DRAWS_CSV)) == 3000
    # beside it, the t-interval of the per-seed margins alone: mean ± t(2) sd / sqrt(3), by hand
    half = 4.302653 * np.std([0.30, 0.20, -0.02], ddof=1) / np.sqrt(3)
    c1 = verdicts.summary(tmp_path, "cpu").set_index(["claim", "setting"]).loc[("C1", "arithmetic")]
    assert np.isclose(c1.seed_low, 0.16 - half, atol=1e-5) and np.isclose(c1.seed_high, 0.16 + half, atol=1e-5)
    assert c1.seed_low < c1.ci_low and c1.ci_high < c1.seed_high  # wider: t(2) with the seeds as training noise
    text = verdicts.markdown(tmp_path, "cpu")
    assert "| C1 | arithmetic | 3 | 2 / 0 / 1 |" in text and "Per seed:" in text
    assert f"[{0.16 - half:+.3f}, {0.16 + half:+.3f}] |" in text


def test_readme_claims_table_is_regenerated_between_its_markers(tmp_path):
    verdicts.record(tmp_path, "C2", "language", "cpu", 1, False, "U&D 3.1 vs Unlearn 3.4")
    readme = tmp_path / "README.md"
    start, end = verdicts.README_START.format(path="results/x"), verdicts.README_END
    readme.write_text(f"intro\n{start}\nold table\n{end}\nrest\n")
    assert verdicts.update_readme(readme, tmp_path, "results/x", "cpu")
    text = readme.read_text()
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert "| C2 | language | cpu | 1 | **fails** | no interval | U&D 3.1 vs Unlearn 3.4 |" in text
    assert not verdicts.update_readme(readme, tmp_path, "results/y", "cpu")  # no markers for that folder


def test_verdict_grid_is_regenerated_between_its_markers(tmp_path):
    verdicts.record(tmp_path, "C2", "language", "cpu", 0, False, "U&D 3.1 vs Unlearn 3.4")
    readme = tmp_path / "README.md"
    start = verdicts.VERDICTS_START.format(path="results/x")
    readme.write_text(f"intro\n{start}\nold\n{verdicts.VERDICTS_END}\nrest\n")
    assert verdicts.update_verdicts(readme, tmp_path, "results/x", "cpu")
    text = readme.read_text()
    assert "old" not in text and "| C2: Unlearn-and-Distill" in text
    assert "| **inconclusive**, no interval (1 seed) |" in text
    assert not verdicts.update_verdicts(readme, tmp_path, "results/y", "cpu")


def _between(text: str, start: str, end: str) -> str:
    return text.split(start)[1].split(end)[0].strip()


def test_the_readmes_claims_tables_and_verdict_grid_are_those_of_its_claims_csv():
    """No number typed in: the committed README's claims tables are what the committed claims.csv gives."""
    committed = repo_path("README.md").read_text()
    path = re.search(r"<!-- claims table: generated from (\S+)/claims.csv -->", committed).group(1)
    table = _between(committed, verdicts.README_START.format(path=path), verdicts.README_END)
    assert "| C1 | arithmetic |" in table and table == verdicts.markdown(repo_path(path), "cpu")
    path = re.search(r"<!-- verdicts: generated from (\S+)/claims.csv -->", committed).group(1)
    grid = _between(committed, verdicts.VERDICTS_START.format(path=path), verdicts.VERDICTS_END)
    assert grid == verdicts.verdict_grid(repo_path(path), "cpu")
