"""How many pretraining steps do the arithmetic models need at scale cpu? (the 0.85 retain target on every seed)

The arithmetic models learn add/sub in a phase transition, late on some seeds: store version 2's seed-1 oracle
ended its 2,500 steps at 0.75 validation retain accuracy. This pretrains one seed's oracle (retain data only) and
reference with the cpu preset at each step count given, in a store of its own (build/oracle_steps: a run that is
stopped resumes), and writes their validation curves.

    python benchmarks/oracle_steps.py SEED STEPS... [--oracle-only]
    # e.g. 1 3500 2500: benchmarks/results/oracle_steps_seed1.csv
"""
import sys
from dataclasses import replace

import pandas as pd

from undo_lib import repo_path
from undo_lib.pipeline import Experiment


def main(seed: int, step_counts: list[int], models=("oracle", "reference")) -> None:
    frames = []
    for which in models:  # the oracle first: it is the model that missed the target
        for steps in step_counts:
            e = Experiment("cpu", "arithmetic", seed, store_root=repo_path("build", "oracle_steps"))
            e.preset = replace(e.preset, pretrain=replace(e.preset.pretrain, steps=steps))
            metrics = e.pretrain(which).metrics
            frames.append(metrics.assign(model=which, steps=steps, seed=seed))
    curves = pd.concat(frames, ignore_index=True)
    curves = curves[curves.metric.isin(["retain", "forget"])]
    path = repo_path("benchmarks", "results", f"oracle_steps_seed{seed}.csv")
    curves.to_csv(path, index=False)
    print(curves.pivot_table(index=["steps", "model", "step"], columns="metric", values="value").round(3).to_string())
    print(f"written: {path}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--oracle-only"]
    main(int(args[0]), [int(s) for s in args[1:]] or [3500, 2500],
         ("oracle",) if "--oracle-only" in sys.argv else ("oracle", "reference"))
