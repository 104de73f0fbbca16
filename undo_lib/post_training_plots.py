"""Appendix F's figures: Fig 12 (TOFU's metrics over finetuning, unlearning and distillation) and Fig 13 (relearning
of the unlearned model, the unlearned-and-distilled one and the base that never saw the authors)."""
import matplotlib.pyplot as plt
import pandas as pd

from .attack import worst_case
from .plots import FEW_POINTS, color, figure_name, letters, save
from .post_training import KNOWLEDGE, METRIC_NAMES, PHASES

PHASE_TITLES = {"finetune": "Finetuning on every author", "unlearn": "Unlearning the forget authors (GradDiff)",
                "distill": "Distillation back into the base"}


def fig12(phases: pd.DataFrame, setting, figures_dir, seed: int = 0):
    """Fig 12: one panel per phase, each metric of METRIC_NAMES over the phase's steps (validation split).
    phases: tidy (phase, step, metric, value), as post_training.phase_curves gives."""
    fig, axes = plt.subplots(1, len(PHASES), figsize=(4.4 * len(PHASES), 3.6), sharey=True)
    palette = dict(zip(METRIC_NAMES, plt.get_cmap("tab10").colors))
    for ax, phase in zip(axes, PHASES):
        sub = phases[phases.phase == phase]
        for metric, name in METRIC_NAMES.items():
            g = sub[sub.metric == metric].sort_values("step")
            if len(g):
                ax.plot(g.step, g.value, color=palette[metric], marker="o" if len(g) <= FEW_POINTS else None, ms=3,
                        ls="--" if metric in ("model_utility", "retain") else "-", label=name)
        ax.set(xlabel=f"{phase.capitalize()} step", title=PHASE_TITLES[phase], ylim=(-0.03, 1.03))
    axes[0].set_ylabel("Metric value (validation)")
    axes[-1].legend(fontsize=7, loc="best")
    letters(list(axes))
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig12_{setting.name}", seed))
    return fig


def fig13(curves: pd.DataFrame, setting, figures_dir, seed: int = 0):
    """Fig 13: under the worst-case attack (the best rate at each step, per metric), each forget metric of
    KNOWLEDGE thin and their average bold, per attacked model. curves: tidy (model, lr, step, metric, value)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for i, (model, g) in enumerate(curves.groupby("model", sort=False)):
        c = color(model) or f"C{i}"
        worst = [worst_case(g, True, metric).set_index("step").value.rename(metric) for metric in KNOWLEDGE
                 if (g.metric == metric).any()]
        table = pd.concat(worst, axis=1).sort_index()
        for metric in table:
            ax.plot(table.index, table[metric], lw=0.8, alpha=0.35, color=c)
        ax.plot(table.index, table.mean(axis=1), lw=2.2, color=c, label=f"{model} (mean of {len(table.columns)})",
                marker="o" if len(table) <= FEW_POINTS else None, ms=3)
    ax.set(xlabel="Relearning step", ylabel=f"Forget metrics ({setting.forget_label}), ↓ better",
           title="Relearning the forget authors (thin: each metric)", ylim=(-0.03, 1.03))
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig13_{setting.name}", seed))
    return fig
