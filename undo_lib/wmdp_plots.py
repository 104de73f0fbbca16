"""Section 6's figures: Fig 8 (relearning under every adversary of Table 12, the best one bold) and Fig 11 (retain
against forget accuracy before, after a short and after a long attack, the attacker choosing the adversary)."""
import matplotlib.pyplot as plt
import pandas as pd

from .attack import worst_case
from .methods import display_name
from .plots import FEW_POINTS, color, fig7, figure_name, forget_label, letters, save
from .results import stage_points
from .wmdp_claims import against_every_adversary


def fig8(curves: pd.DataFrame, setting, figures_dir, seed: int = 0):
    """Fig 8: one panel per unlearning method, each of its models (e.g. Unlearn and UNDO) drawn thin once per
    adversary (that adversary's best learning rate at each step) and bold for the best adversary of all (the best
    (adversary, rate) at each step). curves: tidy (adversary, method, model, lr, step, metric, value)."""
    methods = list(dict.fromkeys(curves.method))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.6 * len(methods), 3.6), squeeze=False)
    for ax, method in zip(axes[0], methods):
        sub = curves[curves.method == method]
        for adversary, g in sub.groupby("adversary", sort=False):
            for model, w in worst_case(g.drop(columns="adversary"), setting.higher_is_better).groupby("model"):
                ax.plot(w.step, w.value, lw=0.7, alpha=0.45, color=color(model))
        best = worst_case(against_every_adversary(sub), setting.higher_is_better)
        for model, w in best.groupby("model", sort=False):
            ax.plot(w.step, w.value, lw=2.2, color=color(model), marker="o" if len(w) <= FEW_POINTS else None,
                    ms=3, label=f"{model} (best adversary)")
        ax.set(xlabel="Relearning step", ylabel=forget_label(setting),
               title=f"{display_name(method)} ({setting.name})")
        ax.plot([], [], lw=0.7, color="grey", label="thin: each adversary's best rate")
        ax.legend(fontsize=7)
    letters(list(axes[0]), names=[chr(97 + k) for k in range(len(methods))])
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig8_{setting.name}", seed))
    return fig


def fig11(curves: pd.DataFrame, short_step: int, setting, figures_dir, seed: int = 0):
    """Fig 11: Fig 7's three panels (before, after a short and after the long attack) for Section 6's methods, the
    attacker choosing adversary and rate. curves: as fig8's; returns (figure, the points drawn)."""
    undamaged = ~curves.adversary.astype(str).str.startswith("sp-")  # retain before the attack: the model as stored
    curves = curves[(curves.metric != "retain") | undamaged]
    points = stage_points(against_every_adversary(curves), short_step, setting.higher_is_better)
    return fig7(points, setting, figures_dir, seed, figure="fig11"), points
