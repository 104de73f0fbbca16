"""The claims table that every notebook appends to, and what is read from it.

`record` writes one row per (claim, setting, scale, seed) into <results_dir>/claims.csv (the claim's verdict,
margin and 95% interval; claims.py computes them), replacing an earlier row with the same keys, and the interval's
bootstrap replicates into claims_draws.csv; `summary` pools each claim over seeds from them (holds on k of n, pooled
interval); `markdown` and `verdict_grid` are the README's claims tables, and `python -m undo_lib.verdicts <scale>`
prints them and rewrites them in the README.
"""
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .stats import Interval, over_seeds, pooled
from .store import upsert_csv

CLAIM_COLUMNS = ["claim", "setting", "scale", "seed", "verdict", "effect", "ci_low", "ci_high", "holds", "detail"]


def record(results_dir, claim: str, setting: str, scale: str, seed: int, holds: bool, detail: str,
           interval: Interval | None = None) -> None:
    """Write one claim row to <results_dir>/claims.csv, replacing the row with the same claim/setting/scale/seed.

    With an `interval` (the claim's margin, > 0 claimed) the row's verdict is the interval's: holds, fails or
    inconclusive, and `holds` is True only for holds; without one the verdict is read off `holds` alone."""
    verdict = interval.verdict if interval is not None else ("holds" if holds else "fails")
    row = pd.DataFrame([dict(claim=claim, setting=setting, scale=scale, seed=int(seed), holds=verdict == "holds",
                             verdict=verdict, effect=interval.effect if interval else np.nan,
                             ci_low=interval.low if interval else np.nan, ci_high=interval.high if interval else np.nan,
                             detail=detail)])
    keys = ["claim", "setting", "scale", "seed"]
    if interval is not None and interval.draws is not None:
        values = [float(f"{v:.6g}") for v in interval.draws]  # 6 digits: the interval needs no more
        draws = pd.DataFrame({"draw": np.arange(len(values)), "value": values})
        upsert_csv(draws.assign(claim=claim, setting=setting, scale=scale, seed=int(seed))[keys + ["draw", "value"]],
                   Path(results_dir) / DRAWS_CSV, keys)
    upsert_csv(row, Path(results_dir) / "claims.csv", keys)


DRAWS_CSV = "claims_draws.csv"  # (claim, setting, scale, seed, draw, value): each interval's bootstrap replicates
SUMMARY_COLUMNS = ["claim", "setting", "scale", "seeds", "holds", "fails", "inconclusive", "verdict", "effect",
                   "ci_low", "ci_high", "seed_low", "seed_high"]


def summary(results_dir, scale: str | None = None) -> pd.DataFrame:
    """One row per claim and setting over the seeds of claims.csv: how many seeds hold, fail or are inconclusive,
    and the mean margin over seeds with its pooled 95% interval (stats.pooled: a two-level bootstrap over seeds and
    graded items, read from claims_draws.csv), whose verdict is the row's. A claim without replicates for every
    seed gets no pooled interval and verdict "inconclusive". seed_low, seed_high: the t-interval of the mean from
    the per-seed margins alone (stats.over_seeds: the seeds as draws of training noise), shown beside it."""
    t = table(results_dir, scale=scale)
    path = Path(results_dir) / DRAWS_CSV
    draws = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["claim", "setting", "scale", "seed",
                                                                         "draw", "value"])
    replicates = {key: d.sort_values("draw").value.to_numpy()
                  for key, d in draws.groupby(["claim", "setting", "scale", "seed"])}
    rows = []
    for (claim, setting, sc), g in t.groupby(["claim", "setting", "scale"], sort=True):
        counts = g.verdict.value_counts()
        by_seed = {}
        for r in g.itertuples():
            d = replicates.get((claim, setting, sc, r.seed))
            if pd.notna(r.effect) and d is not None:
                by_seed[r.seed] = Interval(r.effect, r.ci_low, r.ci_high, d)
        whole = pooled(by_seed) if len(by_seed) == len(g) else None
        seed_low, seed_high = over_seeds(g.effect.dropna()) if whole else (np.nan, np.nan)
        rows.append(dict(claim=claim, setting=setting, scale=sc, seeds=len(g),
                         **{v: int(counts.get(v, 0)) for v in ("holds", "fails", "inconclusive")},
                         verdict=whole.verdict if whole else "inconclusive",
                         effect=whole.effect if whole else np.nan, ci_low=whole.low if whole else np.nan,
                         ci_high=whole.high if whole else np.nan, seed_low=seed_low, seed_high=seed_high))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def table(results_dir, claim: str | None = None, scale: str | None = None) -> pd.DataFrame:
    """The claims table (optionally one claim, one scale), sorted for reading. Rows written before verdicts had
    intervals get their verdict from `holds` and empty intervals."""
    path = Path(results_dir) / "claims.csv"
    t = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=CLAIM_COLUMNS)
    for column in ("effect", "ci_low", "ci_high"):
        t[column] = t[column] if column in t else np.nan
    if "verdict" not in t:
        t["verdict"] = np.where(t.holds.astype(bool), "holds", "fails")
    t["verdict"] = t.verdict.fillna(pd.Series(np.where(t.holds.astype(bool), "holds", "fails"), index=t.index))
    t = t[t.claim == claim] if claim else t
    t = t[t.scale == scale] if scale else t
    return t[CLAIM_COLUMNS].sort_values(["claim", "setting", "seed"]).reset_index(drop=True)


def shown(verdict: str) -> str:
    """A verdict as the README's tables show it: bold unless it holds."""
    return verdict if verdict == "holds" else f"**{verdict}**"


def _margin(effect, low, high) -> str:
    return f"{effect:+.3f} [{low:+.3f}, {high:+.3f}]" if pd.notna(effect) else "no interval"


def markdown(results_dir, scale: str | None = None) -> str:
    """The claims tables as Markdown (for the README): first one row per claim and setting pooled over seeds
    (`summary`), then one row per claim, setting and seed with the numbers compared."""
    s = summary(results_dir, scale)
    lines = ["| claim | setting | seeds | holds / fails / inconclusive | pooled verdict | mean margin [95% interval] "
             "| 95% t-interval over the seeds' margins |", "|---|---|---|---|---|---|---|"]
    for r in s.itertuples():
        counts = f"{r.holds} / {r.fails} / {r.inconclusive}"
        seeds = f"[{r.seed_low:+.3f}, {r.seed_high:+.3f}]" if pd.notna(r.seed_low) else "–"
        lines.append(f"| {r.claim} | {r.setting} | {r.seeds} | {counts} | {shown(r.verdict)} "
                     f"| {_margin(r.effect, r.ci_low, r.ci_high)} | {seeds} |")
    t = table(results_dir, scale=scale)
    lines += ["", "Per seed:", "",
              "| claim | setting | scale | seed | verdict | margin [95% interval] | numbers compared |",
              "|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        verdict, margin = shown(r.verdict), _margin(r.effect, r.ci_low, r.ci_high)
        lines.append(f"| {r.claim} | {r.setting} | {r.scale} | {r.seed} | {verdict} | {margin} | {r.detail} |")
    return "\n".join(lines)


README_START, README_END = "<!-- claims table: generated from {path}/claims.csv -->", "<!-- end of claims table -->"
VERDICTS_START, VERDICTS_END = "<!-- verdicts: generated from {path}/claims.csv -->", "<!-- end of verdicts -->"
CLAIM_TITLES = {
    "C1": "an oracle-matched reference relearns faster than a random student and than the oracle (Fig 2)",
    "C2": "Unlearn-and-Distill relearns more slowly than Unlearn, for GradDiff, MaxEnt and RMU (Fig 4)",
    "C3": "UNDO's robustness and compute both rise with α (Fig 5)",
    "C4": "α moves robustness more than β (Fig 6)",
    "C5": "after a long attack no other method dominates UNDO's frontier (Fig 7)",
    "C6": "INT4 quantization brings back less after distillation (Table 14)",
    "C7": "the model distilled back into the base relearns closer to the base than to the unlearned model (Fig 13)",
    "C8": "UNDO makes MaxEnt and RMU more resilient to the best of Table 12's adversaries (Fig 8)",
    "C9": "higher α does not recover retain within the distillation budget (Table 13)"}


def pooled_cell(r) -> str:
    """A row of `summary` as one cell: the pooled verdict (bold unless it holds), the mean margin with its 95%
    interval, and the number of seeds."""
    seeds = f"{r.seeds} seed{'s' if r.seeds > 1 else ''}"
    return f"{shown(r.verdict)}, {_margin(r.effect, r.ci_low, r.ci_high)} ({seeds})"


def verdict_grid(results_dir, scale: str) -> str:
    """The README's first table: a row per claim, a column per setting, each cell the pooled verdict over the
    seeds of claims.csv with its mean margin, 95% interval and number of seeds (`summary`)."""
    s = summary(results_dir, scale)
    if s.empty:
        raise ValueError(f"no claims for scale {scale!r} in {results_dir}/claims.csv")
    settings = sorted(s.setting.unique())
    lines = [f"| claim (paper) | {' | '.join(settings)} |", "|---|" + "---|" * len(settings)]
    for claim, g in s.groupby("claim"):
        cells = {r.setting: pooled_cell(r) for r in g.itertuples()}
        lines.append(f"| {claim}: {CLAIM_TITLES.get(claim, '')} | {' | '.join(cells.get(x, '–') for x in settings)} |")
    return "\n".join(lines)


def _replace_between(readme, start: str, end: str, make) -> bool:
    """Replace the text between the README's `start` and `end` markers with make(); whether it had them."""
    readme = Path(readme)
    text = readme.read_text()
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    readme.write_text(f"{head}{start}\n{make()}\n{end}{rest.split(end, 1)[1]}")
    return True


def update_verdicts(readme, results_dir, path: str, scale: str) -> bool:
    """Replace the verdict grid between the README's markers for `path` (as written in the marker, e.g.
    results/cpu) with the one from `results_dir`. Returns whether the README had the markers."""
    return _replace_between(readme, VERDICTS_START.format(path=path), VERDICTS_END,
                            lambda: verdict_grid(results_dir, scale))


def update_readme(readme, results_dir, path: str, scale: str) -> bool:
    """Replace the claims tables between the README's markers for `path` (as written in the marker, e.g.
    results/cpu) with those of <results_dir>/claims.csv. Returns whether the README had the markers."""
    return _replace_between(readme, README_START.format(path=path), README_END,
                            lambda: markdown(results_dir, scale))


def main(argv=None):
    """python -m undo_lib.verdicts <scale> [<results_dir>]: print the claims tables of <results_dir> (default
    results/<scale>) and refresh the README's verdict grid and claims tables whose markers name that folder."""
    import sys
    from . import repo_path
    args = sys.argv[1:] if argv is None else argv
    scale = args[0] if args else "cpu"
    results_dir = Path(args[1]).resolve() if len(args) > 1 else repo_path("results", scale)
    relative = os.path.relpath(results_dir, repo_path())
    print(markdown(results_dir, scale))
    for name, update in (("verdict grid", update_verdicts), ("claims tables", update_readme)):
        done = update(repo_path("README.md"), results_dir, relative, scale)
        print(f"README {name} {'updated' if done else 'reads another folder; left alone'} from {relative}")


if __name__ == "__main__":
    main()
