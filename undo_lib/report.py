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

import numpy as np
import pandas as pd

from . import report_stand_ins
from .claims import at_alpha, frontier_at
from .methods import display_name
from .tables import markdown, per_seed, read, seed_list
from .wmdp_claims import strongest_adversary

START = "<!-- table {name}: generated from {path} by python -m undo_lib.report -->"
END = "<!-- end of table {name} -->"
BLOCK = re.compile(r"<!-- table (\w+): generated from (\S+) by python -m undo_lib.report -->\n(.*?)"
                   r"<!-- end of table \1 -->", re.S)


def _higher_is_better(setting: str) -> bool:
    """Whether more capability is a higher value of a setting's metric (accuracy, probability), from its class."""
    from .settings import HIGHER_IS_BETTER, SETTINGS
    return HIGHER_IS_BETTER[SETTINGS[setting].metric]


def models(results_dir) -> str:
    """Notebook 01: each model's retain and forget performance per setting (validation split), per seed."""
    t = read(results_dir, "fig2_models")
    order = ["Reference", "Oracle", "Student (Reference)", "Student (Random)"]
    header = ["model (seeds " + seed_list(t) + ")", "arithmetic retain acc.", "arithmetic forget acc.",
              "language retain CE", "language forget CE"]
    rows = []
    for model in order:
        m = t[t.model == model]
        cells = [per_seed(m[m.setting == s].set_index("seed")[metric])
                 for s in ("arithmetic", "language") for metric in ("retain", "forget")]
        rows.append([model] + cells)
    return markdown(header, rows)


def choices(results_dir) -> str:
    """Notebook 02: the learning rate each sweep chose, and retain / forget before and after unlearning."""
    t = read(results_dir, "fig3_choices")
    t = t[t.chosen.astype(bool)]
    header = ["setting", "method", f"chosen rate (seeds {seed_list(t)})", "retain before → after",
              "forget before → after"]
    rows = []
    for (setting, method), g in t.groupby(["setting", "method"], sort=False):
        g = g.set_index("seed")
        rows.append([setting, display_name(method), per_seed(g.lr, "{:g}"),
                     per_seed(g.retain_initial) + " → " + per_seed(g.retain_final),
                     per_seed(g.forget_initial) + " → " + per_seed(g.forget_final)])
    return markdown(header, rows)


def students(results_dir) -> str:
    """Notebook 02: each Unlearn-and-Distill student's retain and forget at the end of its distillation."""
    t = read(results_dir, "fig9_distillation")
    last = t[t.step == t.groupby(["setting", "seed", "model"]).step.transform("max")]
    wide = last.pivot_table(index=["setting", "model", "seed"], columns="metric", values="value").reset_index()
    header = [f"setting (seeds {seed_list(t)})", "student of", "steps", "retain", "forget"]
    rows = []
    for (setting, model), g in wide.groupby(["setting", "model"], sort=False):
        steps = last[(last.setting == setting) & (last.model == model)].groupby("seed").step.max()
        g = g.set_index("seed")
        rows.append([setting, display_name(model), per_seed(steps, "{:d}"), per_seed(g.retain), per_seed(g.forget)])
    return markdown(header, rows)


def undo(results_dir) -> str:
    """Notebook 03: each UNDO student's steps, compute, robustness and whether it recovered within the cap."""
    t = read(results_dir, "fig5_undo")
    header = [f"setting (seeds {seed_list(t)})", "α", "β", "steps", "compute", "robustness", "recovered"]
    rows = []
    for (setting, alpha, beta), g in t.groupby(["setting", "alpha", "beta"], sort=True):
        g = g.set_index("seed")
        recovered = g.recovered.astype(bool).map({True: "yes", False: "**no**"})
        rows.append([setting, f"{alpha:g}", f"{beta:g}", per_seed(g.steps, "{:d}"), per_seed(g.compute),
                     per_seed(g.robustness), per_seed(recovered)])
    return markdown(header, rows)


def points(results_dir, seed: int = 0) -> str:
    """Notebook 04, one seed: every point's retain before the attack and worst-case forget before, after the short
    and after the long attack, both settings; a student that stopped at the cap is marked."""
    t = read(results_dir, "fig7_points")
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
    return markdown(header, rows)


def changes(results_dir) -> str:
    """The verdicts of store version 1 (claims_v1.csv: no intervals, the sign of the margin decided) against the
    pooled verdicts of claims.csv, per claim and setting that both hold."""
    from .verdicts import shown, summary
    old, new = read(results_dir, "claims_v1"), summary(results_dir).set_index(["claim", "setting"])
    header = ["claim", "setting", "version 1: holds / fails (seeds)", "now: holds / fails / inconclusive",
              "pooled verdict now", "changed"]
    rows = []
    for (claim, setting), g in old.groupby(["claim", "setting"]):
        if (claim, setting) not in new.index:
            continue
        n, held = new.loc[(claim, setting)], g.holds.astype(bool)
        before = "holds" if held.all() else "fails" if not held.any() else "mixed"
        verdict = shown(n.verdict)
        rows.append([claim, setting, f"{held.sum()} / {(~held).sum()}", f"{n.holds} / {n.fails} / {n.inconclusive}",
                     verdict, "no" if before == n.verdict else f"**{before} → {n.verdict}**"])
    return markdown(header, rows)


def changes_v2(results_dir) -> str:
    """Version 2's pooled verdicts (claims_v2_summary.csv: verdicts.summary of claims.csv, kept when version 3's
    regeneration replaced it) against the pooled verdicts of claims.csv now, per claim and setting that both have."""
    from .verdicts import pooled_cell, summary
    keys = ["claim", "setting", "scale"]
    old, new = read(results_dir, "claims_v2_summary").set_index(keys), summary(results_dir).set_index(keys)
    header = ["claim", "setting", "version 2: pooled verdict, mean margin [95% interval]", "now", "changed"]
    rows = []
    for key in old.index.intersection(new.index, sort=False):
        o, n = old.loc[key], new.loc[key]
        changed = "no" if o.verdict == n.verdict else f"**{o.verdict} → {n.verdict}**"
        rows.append([key[0], key[1], pooled_cell(o), pooled_cell(n), changed])
    return markdown(header, rows)


RESOLUTION = 0.02  # an edge that wins by less decides nothing (0.02 accuracy or nats; tests/test_attack.py)


def _late_gain(worst: pd.DataFrame, keys: list[str], sign: float) -> pd.DataFrame:
    """Per attacked model: how much the worst case still gained for the attacker over the attack's last sixth
    (from the last evaluation at or before 5/6 of the steps to the end). Returns keys + (early, end, gain)."""
    rows = []
    for key, g in worst.groupby(keys, dropna=False):
        g = g.set_index("step")["value"].sort_index()
        before = g.index[g.index <= g.index.max() * 5 / 6]
        if len(before) == 0:
            continue
        early = before.max()
        rows.append({**dict(zip(keys, key)), "early": early, "end": g.index.max(),
                     "gain": sign * (g.iloc[-1] - g.loc[early])})
    return pd.DataFrame(rows, columns=keys + ["early", "end", "gain"])


def edges(results_dir) -> str:
    """Where a grid or the attack's length limits the protocol (the relearning tables of notebooks 01-03, and those
    of 04, 05 (each model's strongest adversary) and 06 where saved): every attacked model whose attacker does best
    at an edge of the rate grid by at least RESOLUTION at the last step, or whose worst case still gains at least
    RESOLUTION over the attack's last sixth; and every unlearning sweep whose validation choice is its lowest or
    highest rate."""
    from .attack import best_rates, worst_case
    rows = []
    names = ["fig2_relearning", "fig4_relearning", "fig5_relearning"]
    # notebook 04 saves its attacks since store version 2's seed 2
    optional = ("fig7_relearning", "fig8_relearning", "fig13_relearning")
    names += [n for n in optional if (Path(results_dir) / f"{n}.csv").exists()]
    for name in names:
        curves = read(results_dir, name)
        for (setting, seed), g in curves.groupby(["setting", "seed"]):
            g = g.drop(columns=["scale", "key", "setting", "seed", "alpha", "beta"], errors="ignore")
            g = g[g.model != "Data Filtering"]  # the oracle's own attack, listed from fig2_relearning
            higher = _higher_is_better(setting)
            if "adversary" in g:  # Section 6: the grid and length of each model's strongest adversary
                g = strongest_adversary(g, higher)
            keys = [c for c in ("method", "model") if c in g.columns]

            def label(r):
                return " / ".join(display_name(str(getattr(r, c))) for c in keys)
            best = best_rates(g, higher)
            for r in best[best.edge_gain >= RESOLUTION].itertuples():
                rows.append([f"rate grid ({name})", setting, str(seed), label(r), f"{r.best_lr:g}",
                             f"rates {g.lr.min():g} … {g.lr.max():g}", f"{r.edge_gain:.3f}"])
            late = _late_gain(worst_case(g, higher), keys, 1.0 if higher else -1.0)
            for r in late[late.gain >= RESOLUTION].itertuples():
                rows.append([f"attack length ({name})", setting, str(seed), label(r), "–",
                             f"steps {r.early:d} → {r.end:d}", f"{r.gain:.3f}"])
    choices = read(results_dir, "fig3_choices")
    for (setting, seed, method), g in choices.groupby(["setting", "seed", "method"], sort=True):
        chosen = g[g.chosen.astype(bool)].lr.item()
        if chosen in (g.lr.min(), g.lr.max()):
            rows.append(["unlearning sweep (fig3_choices)", setting, str(seed), display_name(method), f"{chosen:g}",
                         f"rates {g.lr.min():g} … {g.lr.max():g}", "–"])
    header = ["limit", "setting", "seed", "model", "best / chosen rate", "tried",
              "attacker's gain at the edge / over the last sixth"]
    return markdown(header, rows) if rows else "No grid edge or attack length limits a result."


def matched_retain_margin(points: pd.DataFrame, higher_is_better: bool, undo_points=None) -> float:
    """C5's margin from Fig 7's points alone (no items, so no interval): for each other method, its frontier after
    the long attack (claims.frontier_at) read at UNDO's retain, minus UNDO's, signed > 0 for UNDO, UNDO's best
    point against each method and the smallest over methods (claims.undo_matched_retain_interval's rule).
    `undo_points`: the UNDO point labels to use (default all)."""
    long = points[(points.stage == "long") & (points.method != "data_filtering")]
    undo = long[long.method == "undo"]
    undo = undo if undo_points is None else undo[undo.model.isin(undo_points)]
    if undo.empty or long.method.nunique() < 2:
        raise ValueError("C5 needs UNDO's points and other methods' points")
    sign = 1.0 if higher_is_better else -1.0
    gaps = []
    for _, g in long[long.method != "undo"].groupby("method"):
        frontier = frontier_at(undo.retain, g.retain, g.forget, higher_is_better)
        gaps.append((sign * (frontier - undo.forget.to_numpy())).max())
    return float(min(gaps))


def c5_alpha(results_dir) -> str:
    """C5 with and without notebook 03's strongest α: the recorded margin with its interval, the same rule
    recomputed from fig7_points (a check), and with UNDO's α = 0.6 points alone (the paper's Section 6 value):
    recomputed, and as notebook 04 recorded it with its interval (c5_paper_alpha.csv; "–" where it has no row)."""
    from .verdicts import shown, table
    points, recorded = read(results_dir, "fig7_points"), table(results_dir, claim="C5").set_index(["setting", "seed"])
    at_paper = (read(results_dir, "c5_paper_alpha").set_index(["setting", "seed"])
                if (Path(results_dir) / "c5_paper_alpha.csv").exists() else pd.DataFrame())
    header = ["setting", "seed", "C5 margin recorded [95% interval]", "recomputed from Fig 7's points, on each "
              "method's frontier", "UNDO at α = 0.6 only, recomputed", "UNDO at α = 0.6 only, recorded"]
    rows = []
    for (setting, seed), g in points.groupby(["setting", "seed"]):
        higher = _higher_is_better(setting)
        paper = [m for m in g[g.method == "undo"].model.unique() if at_alpha(m, 0.6)]
        r = recorded.loc[(setting, seed)]
        p = at_paper.loc[(setting, seed)] if (setting, seed) in at_paper.index else None
        rows.append([setting, str(seed), f"{r.effect:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]",
                     f"{matched_retain_margin(g, higher):+.3f}", f"{matched_retain_margin(g, higher, paper):+.3f}",
                     "–" if p is None else f"{shown(p.verdict)}, {p.effect:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]"])
    return markdown(header, rows)


TABLES = {"models": models, "choices": choices, "students": students, "undo": undo, "points": points,
          "changes": changes, "changes_v2": changes_v2, "edges": edges, "c5_alpha": c5_alpha}


def tables() -> dict:
    """Every README table by name: this module's (notebooks 01-04) and report_stand_ins' (notebooks 05, 06)."""
    return {**TABLES, **report_stand_ins.TABLES}


def blocks(text: str) -> list[tuple[str, str, str]]:
    """The README's generated tables: (name, folder, current content) for each marked block."""
    return [(m.group(1), m.group(2), m.group(3).rstrip("\n")) for m in BLOCK.finditer(text)]


def render(text: str, root: Path) -> str:
    """`text` with every marked block rewritten from its folder (relative to `root`)."""
    known = tables()

    def one(m):
        name, path = m.group(1), m.group(2)
        if name not in known:
            raise ValueError(f"README names an unknown table {name!r}; known: {', '.join(known)}")
        return f"{START.format(name=name, path=path)}\n{known[name](root / path)}\n{END.format(name=name)}"
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
