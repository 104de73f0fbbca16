"""Do the language margins of C2 and C5 depend on the attack's length? (store version 3; a reviewer's question)

The `cpu` language attack runs 60 steps, and the robust models' worst case still falls over its last sixth. This
attacks, for one seed, the models that decide C2 and C5 for 240 steps at the long probe's rates of
benchmarks/attack_length.py (1e-1 ... 3e-3; every model's best rate at 60 steps lies among them), all from the store:
- C2: GradDiff, MaxEnt and RMU unlearned at their chosen rates, and each one's Unlearn-and-Distill student;
- C5: UNDO's students at alpha 0.6 and 0.8 (beta 0.1, notebook 03's tolerance), and each other method's point whose
  retain (Fig 7's table) lies nearest UNDO's alpha = 0.8 student's;
- and Data Filtering (the oracle, which never saw Korean): what the attack's data teaches from scratch.
It prints each model's worst-case forget cross-entropy (over the rates) averaged over the first 60 and over all 240
steps, and at steps 60 and 240, and the C2 and C5 differences read both ways (a point estimate, no interval).

    python benchmarks/attack_length_claims.py [seed [results]]  # -> benchmarks/results/attack_length_claims_seed<N>.csv

`results` (default results/cpu) holds the Fig 7 points (fig7_points.csv) that pick C5's models; the committed run
read version 3's regeneration, results/reruns/cpu-v3, before it was adopted.
"""
import sys
from dataclasses import replace

import pandas as pd

from undo_lib import repo_path
from undo_lib.attack import worst_case
from undo_lib.pipeline import Experiment
from undo_lib.results import attack_curves

STEPS, LRS = 240, (1e-1, 3e-2, 1e-2, 3e-3)


def deciding_models(e: Experiment, points: pd.DataFrame) -> dict:
    """{label: Artifact} of the models that decide C2 and C5 (see the module's docstring), trained if missing."""
    models, chosen = {"Data Filtering (oracle)": e.pretrain("oracle")}, {}
    for name in ("grad_diff", "max_ent", "rmu"):
        sweep = e.unlearn_sweep(name)
        chosen[name] = sweep[e.choose(sweep)]
        models[f"C2 {name} Unlearn"] = chosen[name]
        models[f"C2 {name} Unlearn-and-Distill"] = e.unlearn_and_distill(chosen[name])
    u = e.preset.undo
    for alpha in (0.6, 0.8):
        models[f"C5 undo alpha={alpha:g}"] = e.undo(chosen["max_ent"], alpha, u.beta, e.seed, u.tolerance,
                                                     u.eval_every)
    long = points[(points.stage == "long") & (points.seed == e.seed) & (points.setting == e.setting.name)]
    target = long[(long.method == "undo") & long.model.str.startswith("alpha=0.8 ")].retain.iloc[0]
    specs = e.comparison_specs()
    for method, g in long[~long.method.isin(["undo", "data_filtering"])].groupby("method"):
        label = g.loc[(g.retain - target).abs().idxmin(), "model"]
        models[f"C5 {method} {label}"] = e.train(specs[method][label])
    return models


def main(seed: int, results: str = "results/cpu") -> None:
    e = Experiment("cpu", "language", seed)
    points = pd.read_csv(repo_path(results, "fig7_points.csv"))
    models = deciding_models(e, points)
    attack = replace(e.preset.attack, steps=STEPS, lrs=LRS)
    curves = attack_curves(e.train(e.attack_specs(models, attack=attack), "long attacks")).assign(seed=seed)
    path = repo_path("benchmarks", "results", f"attack_length_claims_seed{seed}.csv")
    curves.to_csv(path, index=False)
    worst = worst_case(curves, e.higher_is_better)  # (model, step, value): the best rate's at each step
    short = e.preset.attack.steps
    rows = {}
    for model, g in worst.groupby("model"):
        g = g.set_index("step")["value"].sort_index()
        rows[model] = {f"mean to {short}": g[g.index <= short].mean(), f"mean to {STEPS}": g.mean(),
                       f"at {short}": g[short], f"at {STEPS}": g[STEPS]}
    table = pd.DataFrame(rows).T
    print(f"worst-case forget cross-entropy (higher: more robust), seed {seed}:")
    print(table.round(3).to_string())
    print("C2, Unlearn-and-Distill minus Unlearn (> 0: C2's direction):")
    for name in ("grad_diff", "max_ent", "rmu"):
        diff = table.loc[f"C2 {name} Unlearn-and-Distill"] - table.loc[f"C2 {name} Unlearn"]
        print(f"  {name}: " + ", ".join(f"{k} {v:+.3f}" for k, v in diff.items()))
    undo = table.loc["C5 undo alpha=0.8"]
    print("C5, UNDO alpha=0.8 minus each method's point nearest its retain (> 0: UNDO more robust):")
    for model in (m for m in table.index if m.startswith("C5 ") and "undo" not in m):
        print(f"  {model[3:]}: " + ", ".join(f"{k} {v:+.3f}" for k, v in (undo - table.loc[model]).items()))
    print(f"written: {path}")


if __name__ == "__main__":
    if len(sys.argv) > 3:
        raise SystemExit("usage: python benchmarks/attack_length_claims.py [seed [results folder]]")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0, *sys.argv[2:])
