"""The README tables' cells: one number per seed in seed order, a markdown table, a CSV read by name."""
import pandas as pd
import pytest

from undo_lib import tables


def test_a_cell_lists_one_number_per_seed_in_seed_order():
    assert tables.per_seed(pd.Series([0.5, 0.25, 1.0], index=[2, 0, 1])) == "0.25 / 1.00 / 0.50"
    assert tables.per_seed(pd.Series([3e-4, 1.0], index=[0, 1]), "{:g}") == "0.0003 / 1"
    assert tables.per_seed(pd.Series([], dtype=float)) == "–"


def test_a_markdown_table_has_a_header_a_rule_and_a_row_per_list():
    assert tables.markdown(["a", "b"], [["1", "2"], ["3", "4"]]) == "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |"


def test_a_missing_csv_is_named_and_seeds_are_listed_in_order(tmp_path):
    with pytest.raises(FileNotFoundError, match="fig9_distillation.csv is missing"):
        tables.read(tmp_path, "fig9_distillation")
    pd.DataFrame({"seed": [2, 0, 2]}).to_csv(tmp_path / "t.csv", index=False)
    assert tables.seed_list(tables.read(tmp_path, "t")) == "0, 2"
