"""What a reader sees in a figure, said in sentences computed from the figure's own tables.

A notebook shows these after each figure (`display.show_reading`), so the prose always matches the numbers of the
run, whatever the scale or seed. Each function takes the tidy table the figure is drawn from and returns Markdown.
"""
import pandas as pd

from .attack import best_rates, worst_case
from .methods import display_name


def _num(x: float) -> str:
    return f"{x:.2f}"


UNDEFINED = ("Robustness is undefined (nan) here: the unlearned teacher and Data Filtering relearn alike, so there "
             "is no gap between them to measure a student against.")
_NOT_LABELS = ("step", "value", "lr", "key", "scale", "setting", "seed")


def _label(row, keys) -> str:
    return " · ".join(display_name(str(row[k])) for k in keys if pd.notna(row[k]))


def relearning(curves: pd.DataFrame, higher_is_better: bool, unit: str) -> str:
    """Each model's worst-case forget performance at the start and at the end of the attack, and the model that
    the attack brings back furthest. curves: tidy (model columns..., lr, step, metric, value), as `attack_curves`
    gives (a model is named by its columns other than lr, step, metric, value and the store's bookkeeping)."""
    worst = worst_case(curves, higher_is_better)
    if worst.empty:
        raise ValueError("no forget curves to read")
    keys = [c for c in worst.columns if c not in _NOT_LABELS]
    worst = worst.assign(label=[_label(r, keys) for _, r in worst.iterrows()])
    rates = best_rates(curves, higher_is_better)
    rates = rates.assign(label=[_label(r, keys) for _, r in rates.iterrows()]).set_index("label")
    ends, parts = {}, []
    for label, g in worst.groupby("label", sort=False):
        g = g.sort_values("step")
        ends[label] = g.value.iloc[-1]
        rate = rates.loc[label, "best_lr"]
        pair = not isinstance(rate, float)  # Section 6: an "adversary @ lr=..." pair, whose grid has no edges
        edge = ", at the grid's edge" if rates.loc[label, "at_edge"] and not pair else ""
        rate = rate if pair else f"{rate:g}"
        parts.append(f"{label} {_num(g.value.iloc[0])} → {_num(g.value.iloc[-1])} (best rate {rate}{edge})")
    best = max(ends, key=ends.get) if higher_is_better else min(ends, key=ends.get)
    direction = "higher" if higher_is_better else "lower"
    return (f"Worst-case forget {unit} over the {int(worst.step.max())}-step attack, start → end: "
            + "; ".join(parts) + f". At its end the attack has done best on **{best}** ({direction} is better for "
            f"the attacker).")


def undo_scaling(table: pd.DataFrame, beta: float) -> str:
    """Robustness and compute along the α sweep at noise scale `beta`, and the students that stopped at the cap.
    table: `claims.undo_table` rows (alpha, beta, compute, robustness, recovered)."""
    sweep = table[table.beta == beta].sort_values("alpha")
    if sweep.empty:
        raise ValueError(f"no UNDO student at beta={beta} to read")
    alphas = " / ".join(f"{a:g}" for a in sweep.alpha)
    text = (f"At β = {beta:g} and α = {alphas}: robustness {' / '.join(_num(r) for r in sweep.robustness)} "
            f"(0: relearns like the unlearned teacher, 1: like Data Filtering), compute "
            f"{' / '.join(_num(c) for c in sweep.compute)} (distillation rows as a share of Data Filtering's, "
            f"the oracle's pretraining rows).")
    if sweep.robustness.isna().any():
        text += " " + UNDEFINED
    capped = table[~table.recovered.astype(bool)] if "recovered" in table else table.iloc[:0]
    if capped.empty:
        return text + " Every student recovered the teacher's retain performance within the cap."
    names = ", ".join(f"(α {r.alpha:g}, β {r.beta:g})" for r in capped.itertuples())
    return text + f" Stopped at the cap without recovering (hollow markers): {names}."


def alpha_vs_beta(table: pd.DataFrame, alphas, betas) -> str:
    """How far robustness moves along α (at each β) against along β (at each α), on average over the α × β grid
    (`alphas` × `betas`, as C4 reads it). table: `claims.undo_table` rows."""
    cells = table[table.alpha.isin(alphas) & table.beta.isin(betas)]
    if len(set(zip(cells.alpha, cells.beta))) < len(alphas) * len(betas) or len(alphas) < 2 or len(betas) < 2:
        raise ValueError(f"the α × β grid {list(alphas)} × {list(betas)} is incomplete in the table")
    if cells.robustness.isna().any():
        return UNDEFINED
    grid = cells.pivot_table(index="alpha", columns="beta", values="robustness")
    along_alpha = (grid.max(axis=0) - grid.min(axis=0)).mean()
    along_beta = (grid.max(axis=1) - grid.min(axis=1)).mean()
    more = "α" if along_alpha > along_beta else "β"
    return (f"Robustness spans {_num(along_alpha)} on average as α varies at a fixed β, and {_num(along_beta)} as "
            f"β varies at a fixed α: **{more}** moves it more.")


def comparison(points: pd.DataFrame, higher_is_better: bool, unit: str, stage: str = "long") -> str:
    """After the attack's `stage`, each method's best forget performance for the defender, with that point's
    retain performance. points: tidy (method, model, stage, retain, forget), as Fig 7's."""
    sub = points[(points.stage == stage) & (points.method != "data_filtering")]
    if sub.empty:
        raise ValueError(f"no points at stage {stage!r} to read")
    best = sub.loc[(sub.groupby("method").forget.idxmin() if higher_is_better
                    else sub.groupby("method").forget.idxmax())]
    best = best.sort_values("forget", ascending=higher_is_better)
    parts = [f"{display_name(r.method)} {_num(r.forget)} (retain {_num(r.retain)})" for r in best.itertuples()]
    return (f"After the {stage} attack, each method's best worst-case forget {unit} for the defender, best first: "
            + "; ".join(parts) + ". The claim compares them at matched retain, below.")


def choices(scores: pd.DataFrame) -> str:
    """Each method's chosen learning rate with its retain and forget before → after unlearning, flagging a choice at
    an end of the sweep. scores: `Experiment.sweep_scores` (method, lr, retain/forget initial/final, chosen)."""
    scores = scores.reset_index()
    parts = []
    for method, g in scores.groupby("method", sort=False):
        pick = g[g.chosen.astype(bool)]
        if len(pick) != 1:
            raise ValueError(f"{method}: {len(pick)} chosen rates in the sweep scores")
        r = pick.iloc[0]
        edge = " (an end of its sweep: a wider sweep might choose beyond it)" if r.lr in (g.lr.min(), g.lr.max()) else ""
        parts.append(f"{display_name(method)} lr {r.lr:g}{edge}: retain {_num(r.retain_initial)} → "
                     f"{_num(r.retain_final)}, forget {_num(r.forget_initial)} → {_num(r.forget_final)}")
    return "Chosen on validation, before → after unlearning: " + "; ".join(parts) + "."


def distillation(curves: pd.DataFrame) -> str:
    """Each distilled student's retain and forget performance at the end of its distillation. curves: tidy
    (model, step, metric, value), as `stage_curves` gives."""
    if curves.empty:
        raise ValueError("no distillation curves to read")
    last = curves[curves.step == curves.groupby("model").step.transform("max")]
    table = last.pivot_table(index="model", columns="metric", values="value", sort=False)
    steps = int(curves.step.max())
    parts = [f"{display_name(m)} retain {_num(r.retain)}, forget {_num(r.forget)}" for m, r in table.iterrows()]
    return f"At the end of distillation ({steps} steps): " + "; ".join(parts) + "."


def phases(table: pd.DataFrame) -> str:
    """Fig 12: each phase's start and end of the forget Q&A probability, the membership inference and model utility.
    table: tidy (phase, step, metric, value), as post_training.phase_curves gives."""
    names = {"forget": "forget Q&A prob", "forget_mia_auc": "MIA AUC", "model_utility": "model utility"}
    parts = []
    for phase, g in table.groupby("phase", sort=False):
        moves = []
        for metric, name in names.items():
            m = g[g.metric == metric].sort_values("step")
            if len(m):
                moves.append(f"{name} {_num(m.value.iloc[0])} → {_num(m.value.iloc[-1])}")
        if moves:
            parts.append(f"{phase} ({int(g.step.max())} steps): " + ", ".join(moves))
    if not parts:
        raise ValueError("no phase curves to read")
    return "Start → end of each phase (validation): " + "; ".join(parts) + "."
