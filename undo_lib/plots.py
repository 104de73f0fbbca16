"""One function per paper figure (seaborn), each saving PNG and PDF and returning the matplotlib figure."""
from pathlib import Path
import textwrap

import matplotlib.pyplot as plt
import seaborn as sns

import numpy as np
import pandas as pd

from .attack import mean_across_lrs, worst_case
from .methods import display_name

# One colour per model or method, in every figure: the gold standard (Data Filtering, its oracle) green, the
# unlearned-only model red, distilled students blue, UNDO purple; the methods of Figs 7 and 9 each their own.
_DATA_FILTERING, _UNLEARN, _DISTILLED, _UNDO = "#2ca02c", "#d62728", "#1f77b4", "#9467bd"
PALETTE = {"Data Filtering": _DATA_FILTERING, "Oracle": _DATA_FILTERING, "Oracle Teacher": _DATA_FILTERING,
           "Unlearn": _UNLEARN, "Student (Reference)": _UNLEARN, "Unlearn-and-Distill": _DISTILLED,
           "Student (Random)": _DISTILLED, "UNDO": _UNDO,
           "GradDiff": "#ff7f0e", "MaxEnt": "#8c564b", "RMU": "#e377c2", "NPO": "#7f7f7f", "SimNPO": "#bcbd22",
           "SAM": "#17becf", "RepNoise": "#393b79", "UNDIAL": "#637939"}
THIN_BOLD = "thin: one learning rate each; bold: the worst case (the attacker's best rate at each step)"
FEW_POINTS = 12  # curves with at most this many points get markers
# One theme for every figure, set once here: a figure then looks the same whichever was drawn before it in the
# process (a notebook, or `redraw` drawing every figure in one go).
sns.set_theme(style="whitegrid", context="paper")


def color(name: str) -> str | None:
    """The figure colour of a model label or method name (display name or registry name)."""
    return PALETTE.get(name, PALETTE.get(display_name(name)))


def better(setting, what: str = "forget") -> str:
    """The direction cue of an axis: which way is better for the defender (forget) or the model (retain)."""
    up = setting.higher_is_better != (what == "forget")
    return "↑ better" if up else "↓ better"


def letters(axes, setting=None, names=None) -> None:
    """Panel letters at each panel's top-left corner. By default as the paper's combined figures letter them: the
    language panels first ((a), (b), ...), the arithmetic panels after them ((d)-(f) for three panels per
    setting); `names` gives the letters outright."""
    start = len(axes) * setting.panel_order if setting is not None else 0
    names = names or [chr(97 + start + k) for k in range(len(axes))]
    for ax, name in zip(axes, names):
        ax.text(-0.02, 1.02, f"({name})", transform=ax.transAxes, ha="right", va="bottom", fontweight="bold")


def figure_name(name: str, seed: int = 0) -> str:
    """Seed 0 draws the canonical figure; other seeds get their own files beside it."""
    return f"{name}_seed{seed}" if seed else name


FORMATS = ("png", "pdf")  # what `save` writes


def save(fig, figures_dir, name: str) -> list[Path]:
    out = Path(figures_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{ext}" for ext in FORMATS]
    for p in paths:
        fig.savefig(p, bbox_inches="tight", dpi=150, metadata={"CreationDate": None} if p.suffix == ".pdf" else None)
    return paths


def forget_label(setting) -> str:
    """The y label of forget performance with its cue, e.g. "Forget accuracy (mul/div), ↓ better"."""
    return f"Forget {setting.unit} ({setting.forget_label}), {better(setting)}"


def retain_label(setting, when: str = "") -> str:
    return f"Retain {setting.unit} ({setting.retain_label}{when}), {better(setting, 'retain')}"


def relearning_panel(ax, curves, setting, title="", bold="worst"):
    """Every learning rate thin, one colour per model; bold: the worst case (best for the attacker, Fig 2, 4) or
    the mean across learning rates (bold="mean", Fig 10); the legend says which."""
    forget = curves[curves.metric == "forget"]
    for (model, lr), g in forget.groupby(["model", "lr"]):
        ax.plot(g["step"], g["value"], color=color(model), alpha=0.3, lw=0.8)
    thick = worst_case(curves, setting.higher_is_better) if bold == "worst" else mean_across_lrs(curves)
    for model, g in thick.groupby("model", sort=False):
        ax.plot(g["step"], g["value"], color=color(model), lw=2.5, label=model,
                marker="o" if len(g) <= FEW_POINTS else None, ms=3)
    ax.set(xlabel="Relearning step", ylabel=forget_label(setting), title=title)
    ax.plot([], [], color="k", lw=0.8, alpha=0.4, label="thin: each learning rate")
    ax.plot([], [], color="k", lw=2.5, label="bold: worst case" if bold == "worst" else "bold: mean over rates")
    ax.legend(title=None, fontsize=7)


def fig2(distill_metrics, curves, setting, figures_dir, seed: int = 0):
    """Fig 2 for one setting: (a) the distillation KL of both students, (b/c) their relearning against the oracle."""
    name, higher_is_better = setting.name, setting.higher_is_better
    fig, (ax_kl, ax_rel) = plt.subplots(1, 2, figsize=(10, 3.8))
    kl = distill_metrics[distill_metrics.metric == "loss"]
    for model, g in kl.groupby("model", sort=False):
        ax_kl.plot(g["step"], g["value"], color=color(model), lw=1.5, label=model)
    ax_kl.set(yscale="log", xlabel="Distillation step", ylabel="KL(oracle || student), ↓ better",
              title=f"Oracle matching, {name}")
    ax_kl.legend(title=None, fontsize=8)
    relearning_panel(ax_rel, curves, setting, title=f"Relearning, {name}")
    letters((ax_kl, ax_rel), names=("a", "c" if higher_is_better else "b"))  # the paper's Fig 2 letters
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig2_{name}", seed))
    return fig


def _method_panels(n: int, height=3.6):
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, height), squeeze=False)
    return fig, axes[0]


def fig3(sweeps, chosen: dict, setting, figures_dir, seed: int = 0):
    """Fig 3 for one setting: unlearning trends, one panel per method. sweeps: tidy (method, lr, step, metric,
    value); retain solid, forget dashed, one colour per learning rate, the chosen rate (`chosen[method]`) bold."""
    name = setting.name
    methods = list(dict.fromkeys(sweeps["method"]))
    fig, axes = _method_panels(len(methods))
    cmap = plt.get_cmap("viridis")
    for ax, method in zip(axes, methods):
        sub = sweeps[(sweeps.method == method) & sweeps.metric.isin(["retain", "forget"])]
        lrs = sorted(sub.lr.unique())
        for k, lr in enumerate(lrs):
            bold = np.isclose(lr, chosen[method])
            for metric, style in (("retain", "-"), ("forget", "--")):
                g = sub[(sub.lr == lr) & (sub.metric == metric)].sort_values("step")
                ax.plot(g["step"], g["value"], style, color=cmap(k / max(len(lrs) - 1, 1)), lw=2.8 if bold else 1,
                        alpha=1 if bold else 0.6, label=f"{metric} lr={lr:g}" if metric == "retain" or bold else None)
        ax.set(xlabel="Unlearning step", ylabel=f"{setting.unit.capitalize()} (retain {better(setting, 'retain')}, "
                                                f"forget {better(setting)})",
               title=f"{display_name(method)} ({name}); bold lr={chosen[method]:g}")
        if len(sub.step.unique()) <= FEW_POINTS:
            for line in ax.lines:
                line.set_marker("o"), line.set_markersize(3)
        ax.legend(fontsize=6, ncol=2)
    letters(axes, setting)
    fig.text(0.5, -0.02, "solid: retain, dashed: forget; bold: the chosen learning rate (best trade-off)",
             ha="center", fontsize=8)
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig3_{name}", seed))
    return fig


def fig4(curves, setting, figures_dir, seed: int = 0, bold: str = "worst"):
    """Fig 4 (bold = worst case) or Fig 10 (bold = "mean" across learning rates) for one setting: relearning of
    Unlearn, Unlearn-and-Distill and Data Filtering, one panel per method. curves: tidy with a `method` column."""
    name = setting.name
    methods = list(dict.fromkeys(curves["method"]))
    fig, axes = _method_panels(len(methods))
    for ax, method in zip(axes, methods):
        relearning_panel(ax, curves[curves.method == method], setting, bold=bold,
                         title=f"{display_name(method)} ({name})")
    letters(axes, setting)
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig{4 if bold == 'worst' else 10}_{name}", seed))
    return fig


def fig9(distill_metrics, setting, figures_dir, seed: int = 0):
    """Fig 9 for one setting: distillation of each unlearned teacher into a random init, KL (left) and the
    student's retain (solid) and forget (dashed) metric (right). distill_metrics: tidy (model, step, metric, value)."""
    name = setting.name
    fig, (ax_kl, ax_m) = _method_panels(2)
    distill_metrics = distill_metrics.assign(model=distill_metrics.model.map(lambda m: display_name(m)))
    palette = {m: color(m) for m in distill_metrics.model.unique()}
    sns.lineplot(data=distill_metrics[distill_metrics.metric == "loss"], x="step", y="value", hue="model",
                 palette=palette, ax=ax_kl)
    ax_kl.set(yscale="log", xlabel="Distillation step", ylabel="KL(unlearned teacher || student), ↓ better",
              title=f"Unlearn-and-Distill, {name}")
    evals = distill_metrics[distill_metrics.metric.isin(["retain", "forget"])]
    sns.lineplot(data=evals, x="step", y="value", hue="model", style="metric", style_order=["retain", "forget"],
                 palette=palette, markers=evals.step.nunique() <= FEW_POINTS, ax=ax_m)
    ax_m.set(xlabel="Distillation step", ylabel=f"{setting.unit.capitalize()} (solid: retain, dashed: forget)",
             title="Student during distillation")
    for ax in (ax_kl, ax_m):
        ax.legend(fontsize=7)
    letters((ax_kl, ax_m), setting)
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig9_{name}", seed))
    return fig


def _worst_lines(ax, curves, higher_is_better, label_of, colors=None, **kw):
    """One bold worst-case forget curve per model of `curves`, labelled label_of(model)."""
    for i, (model, g) in enumerate(worst_case(curves, higher_is_better).groupby("model", sort=False)):
        ax.plot(g["step"], g["value"], lw=2, label=label_of(model), marker="o" if len(g) <= FEW_POINTS else None,
                ms=3, color=color(model) or (None if colors is None else colors[i % len(colors)]), **kw)


def fig5(table, curves, setting, figures_dir, seed: int = 0, beta: float = 0.1):
    """Fig 5 for one setting. (a/c) robustness against compute for the alpha sweep at `beta`: medians across the
    seeds in `table` (undo_table rows with a `seed` column), bars from the lowest to the highest seed.
    (b/d) worst-case relearning of the UNDO students at `beta` against Unlearn and Data Filtering (this seed)."""
    name, higher_is_better = setting.name, setting.higher_is_better
    fig, (ax_t, ax_r) = _method_panels(2, height=3.8)
    t = table[np.isclose(table.beta, beta)]
    agg = t.groupby("alpha")[["compute", "robustness"]].agg(["median", "min", "max"])
    capped = (t.assign(capped=~t.recovered.astype(bool)).groupby("alpha")["capped"].sum() if "recovered" in t
              else pd.Series(0, index=agg.index))
    for alpha, r in agg.iterrows():
        ax_t.errorbar(r[("compute", "median")], r[("robustness", "median")],
                      xerr=[[r[("compute", "median")] - r[("compute", "min")]], [r[("compute", "max")] - r[("compute", "median")]]],
                      yerr=[[r[("robustness", "median")] - r[("robustness", "min")]],
                            [r[("robustness", "max")] - r[("robustness", "median")]]], fmt="o", color=_UNDO,
                      mfc="none" if capped[alpha] else _UNDO)
        note = f" (cap: {int(capped[alpha])})" if capped[alpha] else ""
        ax_t.annotate(f"α={alpha:g}{note}", (r[("compute", "median")], r[("robustness", "median")]), fontsize=7,
                      xytext=(4, 4), textcoords="offset points")
    ax_t.axhline(1, ls=":", color=_DATA_FILTERING, lw=1)
    ax_t.axhline(0, ls=":", color=_UNLEARN, lw=1)
    ax_t.set(xlabel="Compute  S_UNDO / S_DataFiltering (rows seen), ← cheaper",
             ylabel="Robustness (0 = Unlearn, 1 = Data Filtering), ↑ better",
             title=f"UNDO scaling, {name}, β={beta:g}, {t.seed.nunique() if 'seed' in t else 1} seed(s)")
    ax_t.plot([], [], "o", color=_UNDO, label="median over seeds, bars: min to max")
    ax_t.plot([], [], "o", mfc="none", color=_UNDO, label="open: a seed's student hit the one-epoch cap")
    ax_t.legend(fontsize=6, loc="best")
    sub = curves[curves.alpha.isna() | np.isclose(curves.beta.fillna(-1), beta)]
    _worst_lines(ax_r, sub, higher_is_better, lambda m: m.replace("UNDO alpha=", "α=").replace(f" beta={beta:g}", ""),
                 colors=sns.color_palette("viridis", 6))
    ax_r.set(xlabel="Relearning step", ylabel=forget_label(setting), title=f"Relearning (worst case), {name}")
    ax_r.legend(fontsize=7)
    letters((ax_t, ax_r), names=("c", "d") if higher_is_better else ("a", "b"))  # the paper's Fig 5 letters
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig5_{name}", seed))
    return fig


def explore_undo(table, curves, setting):
    """An interactive α/β explorer (ipywidgets) over stored results: pick a student of `table` (undo_table rows)
    and see its worst-case relearning against Unlearn and Data Filtering, with its robustness and compute."""
    import ipywidgets as widgets
    points = sorted(zip(table.alpha, table.beta))

    def draw(alpha, beta):
        row = table[np.isclose(table.alpha, alpha) & np.isclose(table.beta, beta)]
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        if row.empty:
            ax.set_title(f"no student at α={alpha:g}, β={beta:g}: pick a point of the sweep or the grid")
        else:
            chosen = np.isclose(curves.alpha.fillna(-1), alpha) & np.isclose(curves.beta.fillna(-1), beta)
            _worst_lines(ax, curves[curves.alpha.isna() | chosen], setting.higher_is_better,
                         lambda m: "UNDO" if m.startswith("UNDO") else m, colors=[_UNDO])
            r = row.iloc[0]
            cap = "" if bool(r.get("recovered", True)) else ", stopped at the cap"
            ax.set(xlabel="Relearning step", ylabel=forget_label(setting),
                   title=f"α={alpha:g}, β={beta:g}: robustness {r.robustness:.2f}, compute {r.compute:.2f}{cap}")
            ax.legend(fontsize=7)
        plt.show()
    return widgets.interact(draw, alpha=widgets.SelectionSlider(options=sorted({a for a, _ in points})),
                            beta=widgets.SelectionSlider(options=sorted({b for _, b in points})))


def fig6(table, curves, setting, figures_dir, alphas, betas, seed: int = 0):
    """Fig 6 for one setting: (a..) worst-case relearning per alpha of the grid, one line per beta, the baselines
    dotted; (last) heat map of the distillation steps each (alpha, beta) needed to recover."""
    name, higher_is_better = setting.name, setting.higher_is_better
    fig, axes = _method_panels(len(alphas) + 1, height=3.4)
    for ax, alpha in zip(axes, alphas):
        sub = curves[curves.alpha.isna() | (np.isclose(curves.alpha.fillna(-1), alpha) & curves.beta.isin(betas))]
        _worst_lines(ax, sub, higher_is_better, lambda m: m.split(" beta=")[-1] if "beta=" in m else m,
                     colors=sns.color_palette("crest", len(betas)))
        ax.set(xlabel="Relearning step", ylabel=forget_label(setting), title=f"α={alpha:g} ({name})")
        ax.legend(title="β", fontsize=6)
    cells = table[table.alpha.isin(alphas) & table.beta.isin(betas)]
    grid = cells.pivot_table(index="alpha", columns="beta", values="steps")
    marks = (cells.assign(mark=np.where(cells.recovered.astype(bool), "", "\ncap")) if "recovered" in cells
             else cells.assign(mark="")).pivot_table(index="alpha", columns="beta", values="mark", aggfunc="first")
    labels = grid.map(lambda v: f"{v:.0f}") + marks.reindex_like(grid).fillna("")
    sns.heatmap(grid, annot=labels, fmt="", cmap="rocket_r", ax=axes[-1], cbar=True,
                cbar_kws={"label": "distillation steps (compute), ↓ cheaper"})
    axes[-1].set(title="Steps to recover\n('cap': stopped at one epoch)", xlabel="β (noise scale)",
                 ylabel="α (shrink)")
    letters(axes)  # the paper's Fig 6: (a)-(d) relearning per alpha, (e) compute
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig6_{name}", seed))
    return fig


def fig7(points, setting, figures_dir, seed: int = 0, figure: str = "fig7"):
    """Fig 7 for one setting: retain against forget performance of every hyperparameter point of every method, one
    panel per stage of the attack (column `stage`: before, short, long), each method's Pareto frontier drawn, Data
    Filtering (method "data_filtering") starred as the gold standard; UNDO students that stopped at the step cap
    (column `capped`, when there is one) hollow. points: tidy (method, stage, retain, forget[, capped]).
    The axes are zoomed on the methods' points; a Data Filtering star outside them is an arrow at the edge
    pointing its way, labelled with its numbers."""
    name, higher_is_better = setting.name, setting.higher_is_better
    from .claims import pareto_front
    stages = list(dict.fromkeys(points["stage"]))
    fig, axes = _method_panels(len(stages), height=3.8)
    for ax, stage in zip(axes, stages):
        sub = points[points.stage == stage]
        methods = sub[sub.method != "data_filtering"]
        for method, g in methods.groupby("method"):
            capped = g["capped"].fillna(False).astype(bool) if "capped" in g else pd.Series(False, index=g.index)
            ax.scatter(g.retain[~capped], g.forget[~capped], s=14, alpha=0.5, color=color(method))
            ax.scatter(g.retain[capped], g.forget[capped], s=30, facecolors="none", edgecolors=color(method),
                       label=f"{display_name(method)}, stopped at the cap" if capped.any() else None)
            front = pareto_front(g, higher_is_better)
            undo = method == "undo"  # bold, with markers that show even when its frontier is one point
            ax.plot(front.retain, front.forget, "-o", ms=6 if undo else 3, lw=2.5 if undo else 1, color=color(method),
                    label=display_name(method))
        _zoom(ax, methods)
        for r in sub[sub.method == "data_filtering"].itertuples():
            _star_or_arrow(ax, r.retain, r.forget)
        unit = setting.unit
        step = int(sub["step"].max()) if "step" in sub else None
        when = {"before": "before the attack", "short": f"after a short attack ({step} steps)",
                "long": f"after the long attack ({step} steps)"}.get(stage, stage)
        ax.set(xlabel=textwrap.fill(retain_label(setting, ", before the attack"), 50),  # panels are narrow
               ylabel=f"Worst-case forget {unit}, {better(setting)}", title=f"{when} ({name})")
        ax.legend(fontsize=6)
    letters(axes, setting)
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"{figure}_{name}", seed))  # Fig 11 (Section 6) is drawn the same way
    return fig


def _zoom(ax, points, pad: float = 0.08) -> None:
    """Axis limits around `points` (retain, forget), padded by a share of their span."""
    for lim, values in ((ax.set_xlim, points.retain), (ax.set_ylim, points.forget)):
        low, high = float(values.min()), float(values.max())
        span = (high - low) or max(abs(high), 1e-3)
        lim(low - pad * span, high + pad * span)


def _star_or_arrow(ax, x: float, y: float) -> None:
    """Data Filtering's star at (x, y), or, when that lies outside the axes, an arrow at the nearest edge pointing
    towards it, labelled with its coordinates."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    if x0 <= x <= x1 and y0 <= y <= y1:
        ax.scatter([x], [y], marker="*", s=180, color="gold", edgecolor="k", zorder=5, label="Data Filtering")
        return
    cx, cy = min(max(x, x0), x1), min(max(y, y0), y1)  # the edge point nearest the star
    dx, dy = (x - cx) / (x1 - x0), (y - cy) / (y1 - y0)
    norm = max((dx ** 2 + dy ** 2) ** 0.5, 1e-9)
    tail = (cx - 0.12 * (x1 - x0) * dx / norm, cy - 0.12 * (y1 - y0) * dy / norm)
    ax.annotate(f"Data Filtering\n({x:.2f}, {y:.2f})", xy=(cx, cy), xytext=tail, fontsize=6, ha="center",
                arrowprops=dict(arrowstyle="->", color="goldenrod", lw=1.5), color="darkgoldenrod", zorder=5)
    ax.scatter([], [], marker="*", s=60, color="gold", edgecolor="k", label="Data Filtering (arrow: off the axes)")
