"""The README's results tables, generated from the committed CSVs: `python -m undo_lib.report`.

Each table sits between two markers in README.md that name it and the folder it is read from:

    <!-- table models: generated from results/cpu by python -m undo_lib.report -->
    ...
    <!-- end of table models -->

The command rewrites every such block from its folder; tests/test_report.py fails when a block differs from what its
CSVs give. A cell holds one number per seed, "seed 0 / seed 1 / seed 2", so the README never types a number in.
"""
import re
import sys
from pathlib import Path

import pandas as pd

from .methods import display_name

START = "<!-- table {name}: generated from {path} by python -m undo_lib.report -->"
END = "<!-- end of table {name} -->"
BLOCK = re.compile(r"<!-- table (\w+): generated from (\S+) by python -m undo_lib.report -->\n(.*?)"
                   r"<!-- end of table \1 -->", re.S)


def _read(results_dir, name: str) -> pd.DataFrame:
    path = Path(results_dir) / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the table it feeds cannot be made")
    return pd.read_csv(path)


def per_seed(values: pd.Series, fmt: str = "{:.2f}") -> str:
    """One cell: the values of a Series indexed by seed, in seed order, "a / b / c"; "–" for none."""
    values = values.sort_index()
    return " / ".join(fmt.format(v) if isinstance(v, (int, float)) else str(v) for v in values) or "–"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _seeds(frame: pd.DataFrame) -> str:
    return ", ".join(str(s) for s in sorted(frame.seed.unique()))


def models(results_dir) -> str:
    """Notebook 01: each model's retain and forget performance per setting (validation split), per seed."""
    t = _read(results_dir, "fig2_models")
    order = ["Reference", "Oracle", "Student (Reference)", "Student (Random)"]
    header = ["model (seeds " + _seeds(t) + ")", "arithmetic retain acc.", "arithmetic forget acc.",
              "language retain CE", "language forget CE"]
    rows = []
    for model in order:
        m = t[t.model == model]
        cells = [per_seed(m[m.setting == s].set_index("seed")[metric])
                 for s in ("arithmetic", "language") for metric in ("retain", "forget")]
        rows.append([model] + cells)
    return _markdown(header, rows)


def choices(results_dir) -> str:
    """Notebook 02: the learning rate each sweep chose, and retain / forget before and after unlearning."""
    t = _read(results_dir, "fig3_choices")
    t = t[t.chosen.astype(bool)]
    header = ["setting", "method", f"chosen rate (seeds {_seeds(t)})", "retain before → after",
              "forget before → after"]
    rows = []
    for (setting, method), g in t.groupby(["setting", "method"], sort=False):
        g = g.set_index("seed")
        rows.append([setting, display_name(method), per_seed(g.lr, "{:g}"),
                     per_seed(g.retain_initial) + " → " + per_seed(g.retain_final),
                     per_seed(g.forget_initial) + " → " + per_seed(g.forget_final)])
    return _markdown(header, rows)


def students(results_dir) -> str:
    """Notebook 02: each Unlearn-and-Distill student's retain and forget at the end of its distillation."""
    t = _read(results_dir, "fig9_distillation")
    last = t[t.step == t.groupby(["setting", "seed", "model"]).step.transform("max")]
    wide = last.pivot_table(index=["setting", "model", "seed"], columns="metric", values="value").reset_index()
    header = [f"setting (seeds {_seeds(t)})", "student of", "steps", "retain", "forget"]
    rows = []
    for (setting, model), g in wide.groupby(["setting", "model"], sort=False):
        steps = last[(last.setting == setting) & (last.model == model)].groupby("seed").step.max()
        g = g.set_index("seed")
        rows.append([setting, display_name(model), per_seed(steps, "{:d}"), per_seed(g.retain), per_seed(g.forget)])
    return _markdown(header, rows)


def undo(results_dir) -> str:
    """Notebook 03: each UNDO student's steps, compute, robustness and whether it recovered within the cap."""
    t = _read(results_dir, "fig5_undo")
    header = [f"setting (seeds {_seeds(t)})", "α", "β", "steps", "compute", "robustness", "recovered"]
    rows = []
    for (setting, alpha, beta), g in t.groupby(["setting", "alpha", "beta"], sort=True):
        g = g.set_index("seed")
        recovered = g.recovered.astype(bool).map({True: "yes", False: "**no**"})
        rows.append([setting, f"{alpha:g}", f"{beta:g}", per_seed(g.steps, "{:d}"), per_seed(g.compute),
                     per_seed(g.robustness), per_seed(recovered)])
    return _markdown(header, rows)


def points(results_dir, seed: int = 0) -> str:
    """Notebook 04, one seed: every point's retain before the attack and worst-case forget before, after the short
    and after the long attack, both settings; a student that stopped at the cap is marked."""
    t = _read(results_dir, "fig7_points")
    t = t[t.seed == seed]
    if t.empty:
        raise ValueError(f"fig7_points has no rows for seed {seed}")
    keys = ["setting", "method", "model"]
    order = t[keys].drop_duplicates()  # the notebook's order: methods as compared, points by strength
    wide = order.merge(t.pivot_table(index=keys, columns="stage", values="forget").reset_index(), on=keys)
    before = t[t.stage == "before"].set_index(keys)
    header = ["setting", "method", "point", "retain", "forget before", "after short", "after long"]
    rows = []
    for r in wide.itertuples():
        b = before.loc[(r.setting, r.method, r.model)]
        name = f"{r.model} (capped)" if bool(b.capped) else r.model
        numbers = [b.retain] + [getattr(r, stage) for stage in ("before", "short", "long")]
        rows.append([r.setting, display_name(r.method), name] + [f"{v:.3f}" for v in numbers])
    return _markdown(header, rows)


def changes(results_dir) -> str:
    """The verdicts of store version 1 (claims_v1.csv: no intervals, the sign of the margin decided) against the
    pooled verdicts of claims.csv, per claim and setting that both hold."""
    from .claims import summary
    old, new = _read(results_dir, "claims_v1"), summary(results_dir).set_index(["claim", "setting"])
    header = ["claim", "setting", "version 1: holds / fails (seeds)", "now: holds / fails / inconclusive",
              "pooled verdict now", "changed"]
    rows = []
    for (claim, setting), g in old.groupby(["claim", "setting"]):
        if (claim, setting) not in new.index:
            continue
        n, held = new.loc[(claim, setting)], g.holds.astype(bool)
        before = "holds" if held.all() else "fails" if not held.any() else "mixed"
        verdict = n.verdict if n.verdict == "holds" else f"**{n.verdict}**"
        rows.append([claim, setting, f"{held.sum()} / {(~held).sum()}", f"{n.holds} / {n.fails} / {n.inconclusive}",
                     verdict, "no" if before == n.verdict else f"**{before} → {n.verdict}**"])
    return _markdown(header, rows)


RESOLUTION = 0.02  # an edge that wins by less decides nothing (0.02 accuracy or nats; tests/test_attack.py)


def edges(results_dir) -> str:
    """Where a grid limits the protocol: every attacked model whose attacker does best at an edge of the rate grid
    by at least RESOLUTION at the last step (notebooks 01-03's relearning tables), and every unlearning sweep whose
    validation choice is its lowest or highest rate."""
    from .attack import best_rates
    rows = []
    for name in ("fig2_relearning", "fig4_relearning", "fig5_relearning"):
        curves = _read(results_dir, name)
        for (setting, seed), g in curves.groupby(["setting", "seed"]):
            best = best_rates(g.drop(columns=["scale", "key", "setting", "seed", "alpha", "beta"], errors="ignore"),
                              higher_is_better=setting == "arithmetic")
            grid = f"{g.lr.min():g} … {g.lr.max():g}"
            for r in best[best.edge_gain >= RESOLUTION].itertuples():
                if r.model == "Data Filtering":  # the oracle's own attack, listed from fig2_relearning
                    continue
                label = " / ".join(display_name(str(getattr(r, c))) for c in ("method", "model") if hasattr(r, c))
                rows.append([f"attack ({name})", setting, str(seed), label, f"{r.best_lr:g}", grid,
                             f"{r.edge_gain:.3f}"])
    choices = _read(results_dir, "fig3_choices")
    for (setting, seed, method), g in choices.groupby(["setting", "seed", "method"], sort=True):
        chosen = g[g.chosen.astype(bool)].lr.item()
        if chosen in (g.lr.min(), g.lr.max()):
            rows.append(["unlearning sweep (fig3_choices)", setting, str(seed), display_name(method), f"{chosen:g}",
                         f"{g.lr.min():g} … {g.lr.max():g}", "–"])
    header = ["grid", "setting", "seed", "model", "best / chosen rate", "rates tried", "edge's gain"]
    return _markdown(header, rows) if rows else "No best rate or choice lies at an edge of its grid."


TABLES = {"models": models, "choices": choices, "students": students, "undo": undo, "points": points,
          "changes": changes, "edges": edges}


def blocks(text: str) -> list[tuple[str, str, str]]:
    """The README's generated tables: (name, folder, current content) for each marked block."""
    return [(m.group(1), m.group(2), m.group(3).rstrip("\n")) for m in BLOCK.finditer(text)]


def render(text: str, root: Path) -> str:
    """`text` with every marked block rewritten from its folder (relative to `root`)."""
    def one(m):
        name, path = m.group(1), m.group(2)
        if name not in TABLES:
            raise ValueError(f"README names an unknown table {name!r}; known: {', '.join(TABLES)}")
        return f"{START.format(name=name, path=path)}\n{TABLES[name](root / path)}\n{END.format(name=name)}"
    return BLOCK.sub(one, text)


def main(argv=None) -> None:
    """python -m undo_lib.report: rewrite the README's generated tables from the CSVs their markers name."""
    from . import repo_path
    if (sys.argv[1:] if argv is None else argv):
        raise SystemExit("usage: python -m undo_lib.report  (the folders are named in the README's markers)")
    readme = repo_path("README.md")
    text = readme.read_text()
    found = blocks(text)
    if not found:
        raise SystemExit("README.md has no generated tables (markers as in undo_lib/report.py)")
    readme.write_text(render(text, repo_path()))
    print("README tables rewritten: " + ", ".join(f"{n} from {p}" for n, p, _ in found))


if __name__ == "__main__":
    main()
