"""Every figure from the committed tables alone: `python -m undo_lib.redraw results/<scale> [figures_dir]`.

Apart from `plots` because it also draws the figures of notebooks 05 and 06, whose modules import `plots`."""
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from . import plots
from .plots import FORMATS, fig2, fig3, fig4, fig5, fig6, fig7, fig9, figure_name


def redraw(results_dir, figures_dir, scale: str | None = None, formats=FORMATS) -> list[str]:
    """Draw every figure the tables of `results_dir` (results/<scale>) hold, for every setting and seed in them,
    from the CSVs alone, into `figures_dir`. Returns the names drawn."""
    from .results import load_results
    from .scales import preset
    from .settings import make_setting
    results_dir = Path(results_dir)
    scale = scale or results_dir.name
    old, plots.FORMATS, drawn = plots.FORMATS, tuple(formats), []
    try:
        for setting_name in ("arithmetic", "language"):
            p = preset(scale, setting_name)
            setting = make_setting(p)

            def tables(name):
                path = results_dir / f"{name}.csv"
                return load_results(name, results_dir, scale, setting_name) if path.exists() else pd.DataFrame()
            t = {n: tables(n) for n in ("fig2_distillation", "fig2_relearning", "fig3_unlearning", "fig3_choices",
                                        "fig9_distillation", "fig4_relearning", "fig5_undo", "fig5_relearning",
                                        "fig7_points")}
            seeds = sorted(set().union(*(set(x.seed) for x in t.values() if len(x))))
            for seed in seeds:
                at = {n: x[x.seed == seed] if len(x) else x for n, x in t.items()}
                if len(at["fig2_distillation"]) and len(at["fig2_relearning"]):
                    fig2(at["fig2_distillation"], at["fig2_relearning"], setting, figures_dir, seed)
                    drawn.append(figure_name(f"fig2_{setting_name}", seed))
                if len(at["fig3_unlearning"]):
                    c = at["fig3_choices"]
                    fig3(at["fig3_unlearning"], dict(zip(c[c.chosen].method, c[c.chosen].lr)), setting, figures_dir,
                         seed)
                    drawn.append(figure_name(f"fig3_{setting_name}", seed))
                if len(at["fig9_distillation"]):
                    fig9(at["fig9_distillation"], setting, figures_dir, seed)
                    drawn.append(figure_name(f"fig9_{setting_name}", seed))
                if len(at["fig4_relearning"]):
                    for bold, number in (("worst", 4), ("mean", 10)):
                        fig4(at["fig4_relearning"], setting, figures_dir, seed, bold=bold)
                        drawn.append(figure_name(f"fig{number}_{setting_name}", seed))
                if len(at["fig5_undo"]) and len(at["fig5_relearning"]):
                    fig5(t["fig5_undo"], at["fig5_relearning"], setting, figures_dir, seed, beta=p.undo.beta)
                    fig6(at["fig5_undo"], at["fig5_relearning"], setting, figures_dir,
                         _grid_alphas(at["fig5_undo"], p.undo.grid_betas), p.undo.grid_betas, seed)
                    drawn += [figure_name(f"fig{n}_{setting_name}", seed) for n in (5, 6)]
                if len(at["fig7_points"]):
                    fig7(at["fig7_points"], setting, figures_dir, seed)
                    drawn.append(figure_name(f"fig7_{setting_name}", seed))
                plt.close("all")
        drawn += _redraw_later_sections(results_dir, figures_dir, scale)
    finally:
        plots.FORMATS = old
    return drawn


def _grid_alphas(undo_table: pd.DataFrame, betas) -> list[float]:
    """The alphas of Fig 6's grid as the table holds them: those with a student at every beta of the grid (the
    preset's grid may have grown since the table was written; version 3's seed 0 first ran the corners alone)."""
    return [a for a, g in undo_table.groupby("alpha") if set(betas) <= set(g.beta)]


def _redraw_later_sections(results_dir: Path, figures_dir, scale: str) -> list[str]:
    """Section 6's Figs 8 and 11 (notebook 05) and Appendix F's Figs 12 and 13 (notebook 06) from their tables."""
    from . import post_training_plots, wmdp_plots
    from .results import load_results
    from .scales import PRESETS
    from .settings import make_setting
    drawers = {"wmdp": {"fig8_relearning": lambda t, s, seed: wmdp_plots.fig8(t, s, figures_dir, seed),
                        "fig11_points": lambda t, s, seed: fig7(t, s, figures_dir, seed, figure="fig11")},
               "tofu": {"fig12_phases": lambda t, s, seed: post_training_plots.fig12(t, s, figures_dir, seed),
                        "fig13_relearning": lambda t, s, seed: post_training_plots.fig13(t, s, figures_dir, seed)}}
    drawn = []
    for setting_name, tables in drawers.items():
        if (scale, setting_name) not in PRESETS:
            continue
        setting = make_setting(PRESETS[(scale, setting_name)])
        for name, draw in tables.items():
            if not (results_dir / f"{name}.csv").exists():
                continue
            table = load_results(name, results_dir, scale, setting_name)
            for seed in sorted(set(table.seed)):
                draw(table[table.seed == seed].drop(columns=["scale", "setting", "seed"]), setting, seed)
                drawn.append(figure_name(f"{name.split('_')[0]}_{setting_name}", seed))
                plt.close("all")
    return drawn


def prune(figures_dir, drawn, formats=FORMATS) -> list[Path]:
    """Delete the figures (fig*.<format>) of `figures_dir` that are not in `drawn`: those whose data the tables no
    longer hold (e.g. a seed dropped by a regeneration). Returns the paths deleted."""
    keep = set(drawn)
    stale = [p for f in formats for p in sorted(Path(figures_dir).glob(f"fig*.{f}")) if p.stem not in keep]
    for path in stale:
        path.unlink()
    return stale


if __name__ == "__main__":  # python -m undo_lib.redraw results/<scale> [figures_dir] [--prune]
    import sys
    from . import repo_path
    args = [a for a in sys.argv[1:] if a != "--prune"]
    if not 1 <= len(args) <= 2:
        sys.exit("usage: python -m undo_lib.redraw results/<scale> [figures_dir (default: figures/)] [--prune]\n"
                 "  --prune: also delete the figures of figures_dir that the tables no longer draw")
    figures = args[1] if len(args) > 1 else repo_path("figures")
    names = redraw(args[0], figures)
    print(f"{len(names)} figures drawn from {args[0]}: {', '.join(names)}")
    if "--prune" in sys.argv:
        gone = prune(figures, names)
        print(f"{len(gone)} stale figure files deleted" + (f": {', '.join(p.name for p in gone)}" if gone else ""))
