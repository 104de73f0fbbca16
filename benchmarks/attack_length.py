"""How long, and at which rates, should the language attack at scale cpu run? (store version 3's grid)

Attacks notebook 01's three models of one seed (the oracle, the random and the reference-initialized student; from
the store, trained if missing) for 240 steps at 1e-1 ... 3e-3, and for 60 steps at 3e-1 and 1e-1, and prints each
model's worst-case forget cross-entropy along the attack and every rate at step 60 and at the end.

    python benchmarks/attack_length.py [seed]   # writes benchmarks/results/attack_length_seed<seed>.csv
"""
import sys
from dataclasses import replace

import pandas as pd

from undo_lib import repo_path
from undo_lib.pipeline import Experiment
from undo_lib.results import attack_curves

PROBES = {"long": dict(steps=240, lrs=(1e-1, 3e-2, 1e-2, 3e-3)), "top": dict(steps=60, lrs=(3e-1, 1e-1))}


def main(seed: int) -> None:
    e = Experiment("cpu", "language", seed)
    reference, oracle = e.pretrain("reference"), e.pretrain("oracle")
    models = {"Oracle": oracle, "Student (Random)": e.distill(oracle, init="random"),
              "Student (Reference)": e.distill(oracle, init=reference)}
    frames = []
    for probe, cfg in PROBES.items():
        attacks = e.train(e.attack_specs(models, attack=replace(e.preset.attack, **cfg)), f"{probe} attack")
        frames.append(attack_curves(attacks).assign(probe=probe, seed=seed))
    curves = pd.concat(frames, ignore_index=True)
    path = repo_path("benchmarks", "results", f"attack_length_seed{seed}.csv")
    curves.to_csv(path, index=False)
    forget = curves[curves.metric == "forget"]
    long = forget[forget.probe == "long"]
    print("worst case over 1e-1 ... 3e-3 (nats), by step:")
    print(long.groupby(["step", "model"]).value.min().unstack().iloc[::2].round(3).to_string())
    step60 = forget[(forget.step == 60) & ~((forget.probe == "long") & (forget.lr == 1e-1))]
    print("every rate at step 60:")
    print(step60.pivot_table(index="lr", columns="model", values="value").round(3).to_string())
    print(f"written: {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
