"""One function per paper figure (seaborn), each saving PNG and PDF and returning the matplotlib figure."""
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from .attack import worst_case

FORGET_LABEL = {True: "Forget accuracy (mul/div)", False: "Forget cross-entropy (Korean)"}
PALETTE = {"Student (Reference)": "tab:red", "Student (Random)": "tab:blue", "Oracle": "tab:green",
           "Oracle Teacher": "tab:green"}


def figure_name(name: str, seed: int = 0) -> str:
    """Seed 0 draws the canonical figure; other seeds get their own files beside it."""
    return f"{name}_seed{seed}" if seed else name


def save(fig, figures_dir, name: str) -> list[Path]:
    out = Path(figures_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{ext}" for ext in ("png", "pdf")]
    for p in paths:
        fig.savefig(p, bbox_inches="tight", dpi=150)
    return paths


def relearning_panel(ax, curves, higher_is_better: bool, palette=PALETTE, title=""):
    """Every learning rate thin, the worst case (best for the attacker) bold, one colour per model."""
    forget = curves[curves.metric == "forget"]
    for (model, lr), g in forget.groupby(["model", "lr"]):
        ax.plot(g["step"], g["value"], color=palette.get(model), alpha=0.3, lw=0.8)
    worst = worst_case(curves, higher_is_better)
    sns.lineplot(data=worst, x="step", y="value", hue="model", palette=palette, lw=2.5, ax=ax)
    ax.set(xlabel="Relearning step", ylabel=FORGET_LABEL[higher_is_better], title=title)
    ax.legend(title=None, fontsize=8)


def fig2(distill_metrics, curves, setting: str, higher_is_better: bool, figures_dir, seed: int = 0):
    """Fig 2 for one setting: (a) the distillation KL of both students, (b/c) their relearning against the oracle."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, (ax_kl, ax_rel) = plt.subplots(1, 2, figsize=(10, 3.8))
    kl = distill_metrics[distill_metrics.metric == "loss"]
    sns.lineplot(data=kl, x="step", y="value", hue="model", palette=PALETTE, ax=ax_kl)
    ax_kl.set(yscale="log", xlabel="Distillation step", ylabel="KL(oracle || student)",
              title=f"(a) Oracle matching, {setting}")
    ax_kl.legend(title=None, fontsize=8)
    relearning_panel(ax_rel, curves, higher_is_better, title=f"({'c' if higher_is_better else 'b'}) Relearning, {setting}")
    fig.tight_layout()
    save(fig, figures_dir, figure_name(f"fig2_{setting}", seed))
    return fig
