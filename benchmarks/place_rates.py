"""Place the unlearning learning-rate sweeps: run every swept method's sweep (methods.py) on the seed-0 references
at scale cpu and print each run's trade-off score, the chosen rate and whether it lies at an edge of the sweep.

    UNDO_STORE=<a scratch store> python benchmarks/place_rates.py [seed]

A chosen rate at an edge means the sweep should move that way (tests/test_choice.py checks the committed choices).
The references are trained first when the store lacks them (about 25 minutes on 2 cores).
"""
import sys

import pandas as pd

from undo_lib.methods import group, method
from undo_lib.pipeline import Experiment, side_by_side

if __name__ == "__main__":
    pd.set_option("display.width", 200)
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    experiments = {s: Experiment("cpu", s, seed) for s in ("arithmetic", "language")}
    swept = group("unlearning", "extra")
    sweeps = side_by_side(experiments, lambda s, e: {m: e.unlearn_sweep_specs(m) for m in swept})
    for s, e in experiments.items():
        print(s)
        print(e.sweep_scores(sweeps[s]).round(3).drop(columns="key").to_string())
        for m in swept:
            lrs, chosen = method(m).sweep("cpu", s), e.choose(sweeps[s][m])
            print(s, m, "chosen", chosen, "AT AN EDGE" if chosen in (lrs[0], lrs[-1]) else "interior")
