"""The cells and frames of the README's generated tables (undo_lib.report, undo_lib.report_stand_ins): a CSV read
by name, one number per seed in a cell, a markdown table."""
from pathlib import Path

import pandas as pd


def read(results_dir, name: str) -> pd.DataFrame:
    """results_dir/name.csv, or FileNotFoundError naming it."""
    path = Path(results_dir) / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the table it feeds cannot be made")
    return pd.read_csv(path)


def per_seed(values: pd.Series, fmt: str = "{:.2f}") -> str:
    """One cell: the values of a Series indexed by seed, in seed order, "a / b / c"; "–" for none."""
    values = values.sort_index()
    return " / ".join(fmt.format(v) if isinstance(v, (int, float)) else str(v) for v in values) or "–"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table of string cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def seed_list(frame: pd.DataFrame) -> str:
    """The seeds of a frame's rows, "0, 1, 2"."""
    return ", ".join(str(s) for s in sorted(frame.seed.unique()))
