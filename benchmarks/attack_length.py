"""How long, and at which rates, should the relearning attack at scale cpu run? (store version 3's grids)

Attacks notebook 01's three models of one seed (the oracle, the random and the reference-initialized student; from
the store, trained if missing) for a long probe and a probe of the grid's top, and prints each model's worst-case
forget metric along the long probe and every rate at the preset's length.
- language: 240 steps at 1e-1 ... 3e-3, and 60 steps at 3e-1 and 1e-1;
- arithmetic: 300 steps at 3e-3 ... 1e-4 (its attack trains on attack facts only and grades evaluation facts, so
  a longer attack cannot teach the oracle what it grades, only let the others recall it).

    python benchmarks/attack_length.py [seed] [setting]   # benchmarks/results/attack_length[_<setting>]_seed<seed>.csv
"""
import sys
from dataclasses import replace

import pandas as pd

from undo_lib import repo_path
from undo_lib.pipeline import Experiment
from undo_lib.results import attack_curves

PROBES = {"language": {"long": dict(steps=240, lrs=(1e-1, 3e-2, 1e-2, 3e-3)),
                       "top": dict(steps=60, lrs=(3e-1, 1e-1))},
          "arithmetic": {"long": dict(steps=300, lrs=(3e-3, 1e-3, 3e-4, 1e-4))}}


def main(seed: int, setting: str = "language") -> None:
    e = Experiment("cpu", setting, seed)
    length, better = e.preset.attack.steps, min if not e.higher_is_better else max
    reference, oracle = e.pretrain("reference"), e.pretrain("oracle")
    models = {"Oracle": oracle, "Student (Random)": e.distill(oracle, init="random"),
              "Student (Reference)": e.distill(oracle, init=reference)}
    frames = []
    for probe, cfg in PROBES[setting].items():
        attacks = e.train(e.attack_specs(models, attack=replace(e.preset.attack, **cfg)), f"{probe} attack")
        frames.append(attack_curves(attacks).assign(probe=probe, seed=seed))
    curves = pd.concat(frames, ignore_index=True)
    name = "attack_length" + ("" if setting == "language" else f"_{setting}")
    path = repo_path("benchmarks", "results", f"{name}_seed{seed}.csv")
    curves.to_csv(path, index=False)
    forget = curves[curves.metric == "forget"]
    long = forget[forget.probe == "long"]
    worst = long.groupby(["step", "model"]).value.agg(better).unstack()
    print(f"worst case over the long probe's rates ({e.setting.unit}), by step:")
    print(worst.iloc[::2].round(3).to_string())
    at_length = forget[forget.step == length].sort_values("probe", ascending=False)  # "top" before "long"
    at_length = at_length.drop_duplicates(["lr", "model"])  # a rate both probes ran: the top probe's run
    print(f"every rate at step {length}:")
    print(at_length.pivot_table(index="lr", columns="model", values="value").round(3).to_string())
    print(f"written: {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 0, sys.argv[2] if len(sys.argv) > 2 else "language")
