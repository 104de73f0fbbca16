"""The README's tables for notebooks 05 and 06, whose settings are stand-ins at scale cpu (Section 6's WMDP as
four-option arithmetic questions; Appendix F's TOFU as made-up authors): read from the committed CSVs, rows of
scale cpu only, one row per seed where a cell cannot hold every seed. undo_lib.report renders them into README.md.
"""
import pandas as pd

from .attack import worst_case
from .claims import area_under_curve
from .methods import display_name
from .wmdp_claims import against_every_adversary
from .tables import markdown, per_seed, read, seed_list


def _cpu(results_dir, name: str) -> pd.DataFrame:
    t = read(results_dir, name)
    t = t[t.scale == "cpu"]
    if t.empty:
        raise ValueError(f"{name} has no rows at scale cpu")
    return t


TOFU_COLUMNS = {"forget": "forget Q&A prob", "forget_rouge": "forget ROUGE", "forget_mia_auc": "forget MIA AUC",
                "retain": "retain Q&A prob", "model_utility": "model utility"}


def tofu_models(results_dir) -> str:
    """Notebook 06: TOFU's metrics of every model (test split), per seed."""
    t = _cpu(results_dir, "tofu_models")
    header = [f"model (seeds {seed_list(t)})"] + list(TOFU_COLUMNS.values())
    rows = []
    for model, g in t.groupby("model", sort=False):
        g = g.set_index("seed")
        rows.append([model] + [per_seed(g[c], "{:.3f}") for c in TOFU_COLUMNS])
    return markdown(header, rows)


def tofu_control(results_dir) -> str:
    """Notebook 06's positive control for the INT4 attack: each model's forget Q&A probability in fp32 and after
    INT4, and the rise with its 95% interval over the forget questions; a rise whose interval excludes zero is bold."""
    t = _cpu(results_dir, "table14_control")
    header = ["seed", "model", "forget Q&A prob, fp32", "INT4", "rise [95% interval]"]
    rows = []
    for r in t.sort_values("seed", kind="stable").itertuples():
        rise = f"{r.rise:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
        rows.append([str(r.seed), r.model, f"{r.fp32:.3f}", f"{r.int4:.3f}",
                     f"**{rise}**" if r.ci_low > 0 else rise])
    return markdown(header, rows)


def wmdp_attacks(results_dir) -> str:
    """Notebook 05 (Fig 8): per seed and model, forget and retain accuracy before the attack, then the attacker's
    worst case over every adversary and rate of Table 12 (C8's measure): averaged over the attack, at its end, and
    the adversary and rate that reach the end's worst case."""
    t = _cpu(results_dir, "fig8_relearning")
    header = ["seed", "method", "model", "retain before", "forget before", "worst-case forget, averaged",
              "at the end", "by (adversary @ rate)"]
    rows = []
    for (seed, method, model), g in t.groupby(["seed", "method", "model"], sort=False):
        start = g[g.step == 0].groupby("metric").value.first()
        worst = worst_case(against_every_adversary(g), True).sort_values("step")  # C8's attacker
        end = worst.iloc[-1]
        rows.append([str(seed), display_name(method), model, f"{start.retain:.3f}", f"{start.forget:.3f}",
                     f"{area_under_curve(worst):.3f}", f"{end.value:.3f}", end.lr])
    return markdown(header, rows)


def wmdp_alphas(results_dir) -> str:
    """Notebook 05 (Table 13): per shrink-only α, the student's test retain accuracy at the end of its
    distillation budget against its teacher's, per seed, and whether it reached 95% of the teacher's."""
    t = _cpu(results_dir, "table13_alpha")
    teacher = t.groupby("seed").teacher_retain.first()
    header = [f"α (seeds {seed_list(t)})", "retain", "teacher's retain", "recovered (≥ 95% of the teacher's)"]
    rows = []
    for alpha, g in t.groupby("alpha", sort=True):
        g = g.set_index("seed")
        recovered = g.recovered.astype(bool).map({True: "yes", False: "**no**"})
        rows.append([f"{alpha:g}", per_seed(g.retain, "{:.3f}"), per_seed(teacher, "{:.3f}"), per_seed(recovered)])
    return markdown(header, rows)


BUDGET_SHARES = (0.05, 0.1, 0.2, 0.5, 1.0)  # the columns of wmdp_budget: shares of the distillation budget


def wmdp_budget(results_dir) -> str:
    """Notebook 05 (Table 13 at every budget): per seed and shrink-only α, the student's validation retain accuracy
    at the checks nearest 5%, 10%, 20%, 50% and 100% of its budget; a value below the recovery bar (95% of the
    teacher's validation retain accuracy) is bold."""
    t = _cpu(results_dir, "table13_budget")
    columns, rows = None, []
    for (seed, alpha), g in t.groupby(["seed", "alpha"], sort=True):
        picked = [g.iloc[(g.budget_share - share).abs().argmin()] for share in BUDGET_SHARES]
        steps = [f"step {int(r.step)}" for r in picked]
        if columns not in (None, steps):
            raise ValueError(f"table13_budget: seed {seed} alpha {alpha:g} was checked at {steps}, not {columns}")
        columns = steps
        rows.append([str(seed), f"{alpha:g}", f"{g.teacher_retain.iloc[0]:.3f}"]
                    + [f"{r.retain:.2f}" if r.recovered else f"**{r.retain:.2f}**" for r in picked])
    return markdown(["seed", "α", "teacher's validation retain"] + columns, rows)


TABLES = {"wmdp_attacks": wmdp_attacks, "wmdp_alphas": wmdp_alphas, "wmdp_budget": wmdp_budget,
          "tofu_models": tofu_models, "tofu_control": tofu_control}
