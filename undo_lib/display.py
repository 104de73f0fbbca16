"""What a notebook cell shows: one titled table per setting, each claim's verdict as a sentence, and what a figure
shows in sentences (`show_reading`, from undo_lib.readings).

Notebook cells end in `show(...)` or `show_claim(...)` instead of a dict of DataFrames or a raw repr, so that a
reader sees one table per setting and every claim's numbers in full (pandas would cut a column at 50 characters).
"""
from dataclasses import asdict, is_dataclass

import pandas as pd

from .verdicts import table


def _display(*objects) -> None:
    from IPython.display import display
    display(*objects)


def _markdown(text: str):
    from IPython.display import Markdown
    return Markdown(text)


def as_frame(value) -> pd.DataFrame:
    """A DataFrame of what a cell shows: a DataFrame or Series as it is, a dataclass as its fields, a dict as rows
    (its keys the index, a tuple key one label), anything else in one cell."""
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    if is_dataclass(value):
        return pd.DataFrame({"value": {k: str(v) for k, v in asdict(value).items()}})
    if isinstance(value, dict):
        rows = {(", ".join(f"{x:g}" if isinstance(x, float) else str(x) for x in k) if isinstance(k, tuple) else k):
                (v if isinstance(v, dict) else {"value": v}) for k, v in value.items()}
        return pd.DataFrame(rows).T
    return pd.DataFrame({"value": [value]})


def show(by_setting: dict, caption: str = "", digits: int = 3) -> None:
    """Display {setting: table-like} as one titled table per setting, numbers rounded to `digits`."""
    for setting, value in by_setting.items():
        _display(_markdown(f"**{setting}**{': ' + caption if caption else ''}"), as_frame(value).round(digits))


def claim_sentences(results_dir, claim: str, scale: str, seed: int) -> list[str]:
    """One Markdown sentence per setting for `claim` at this scale and seed: verdict, margin with its interval, and
    the numbers compared, in full. Raises ValueError when the claims table has no such row."""
    t = table(results_dir, claim, scale)
    t = t[t.seed == seed]
    if t.empty:
        raise ValueError(f"no {claim} row for scale {scale!r}, seed {seed} in {results_dir}/claims.csv")
    out = []
    for r in t.itertuples():
        margin = (f"margin {r.effect:+.3f}, 95% interval [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
                  if pd.notna(r.effect) else "no interval")
        out.append(f"**{r.claim} {r.verdict}** in {r.setting} (seed {r.seed}; {margin}). {r.detail}.")
    return out


def show_claim(results_dir, claim: str, scale: str, seed: int) -> None:
    """Display `claim_sentences` as Markdown."""
    _display(_markdown("\n\n".join(claim_sentences(results_dir, claim, scale, seed))))


def show_reading(by_setting: dict) -> None:
    """Display {setting: Markdown text} (undo_lib.readings) as one paragraph per setting, under "What you see"."""
    _display(_markdown("\n\n".join(f"*What you see, {setting}.* {text}" for setting, text in by_setting.items())))


def source_markdown(*functions) -> str:
    """The source code of `functions` as one fenced Python block (what `show_source` displays)."""
    import inspect
    return "```python\n" + "\n\n".join(inspect.getsource(f).rstrip() for f in functions) + "\n```"


def show_source(*functions) -> None:
    """Display the library code behind a mechanism of the paper where a notebook first uses it."""
    _display(_markdown(source_markdown(*functions)))
