"""The regeneration's time, from its logs:  python benchmarks/regen_time.py [results/reruns/cpu-v3]

times.csv (benchmarks/regen.sh: one line per notebook run) less the pauses of pauses.csv (`regen.sh hold`)
that fall inside each run: a table of seconds per notebook and seed, and the total."""
import sys
from pathlib import Path

import pandas as pd


def paused_seconds(pauses: pd.DataFrame, start, end) -> float:
    """Seconds between each 'stop' and the next 'cont' that lie within [start, end]."""
    total, stopped = 0.0, None
    for row in pauses.itertuples():
        if row.action == "stop" and stopped is None:
            stopped = row.time
        elif row.action == "cont" and stopped is not None:
            lo, hi = max(stopped, start), min(row.time, end)
            total += max((hi - lo).total_seconds(), 0.0)
            stopped = None
    return total


def run_times(folder: Path) -> pd.DataFrame:
    times = pd.read_csv(folder / "times.csv", parse_dates=["start", "end"])
    pauses_file = folder / "pauses.csv"
    pauses = (pd.read_csv(pauses_file, parse_dates=["time"]) if pauses_file.exists()
              else pd.DataFrame({"time": pd.to_datetime([], utc=True), "action": []}))
    times["paused"] = [paused_seconds(pauses, r.start, r.end) for r in times.itertuples()]
    times["hours"] = (times.seconds - times.paused) / 3600
    return times


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/reruns/cpu-v3")
    t = run_times(folder)
    print(t.pivot_table(index="notebook", columns="seed", values="hours", aggfunc="sum").round(2).to_string())
    failed = t[t.status.astype(str) != "0"]
    print(f"total {t.hours.sum():.2f} h over {len(t)} notebook runs ({len(failed)} failed or killed, resumed "
          f"later from the store), {t.paused.sum() / 3600:.2f} h of pauses left out")
