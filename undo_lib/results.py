"""Tidy tables from stored artifacts, and the results CSVs the notebooks write and the figures are drawn from."""
from pathlib import Path

import numpy as np
import pandas as pd

from .attack import worst_case
from .store import upsert_csv


def final_metrics(artifacts: dict) -> pd.DataFrame:
    """The last evaluation of each {label: Artifact}: one row per label, a column per metric, and the store key."""
    rows = {}
    for label, artifact in artifacts.items():
        m = artifact.metrics
        rows[label] = m[m.step == m.step.max()].set_index("metric")["value"]
    table = pd.DataFrame(rows).T
    return table.assign(key=[a.key for a in artifacts.values()])


def sweep_curves(sweep: dict) -> pd.DataFrame:
    """Training metrics of a learning-rate sweep {lr: Artifact}, tidy (lr, step, metric, value, key), or of several
    {method: {lr: Artifact}}, tidy (method, lr, step, metric, value, key); key: the run's store key."""
    if all(isinstance(v, dict) for v in sweep.values()):
        return pd.concat([sweep_curves(v).assign(method=k) for k, v in sweep.items()], ignore_index=True)[
            ["method", "lr", "step", "metric", "value", "key"]]
    return pd.concat([a.metrics.assign(lr=lr, key=a.key) for lr, a in sweep.items()], ignore_index=True)[
        ["lr", "step", "metric", "value", "key"]]


def stage_curves(artifacts: dict) -> pd.DataFrame:
    """Training metrics of several {label: Artifact}, tidy (step, metric, value, model, key)."""
    return pd.concat([a.metrics.assign(model=label, key=a.key) for label, a in artifacts.items()], ignore_index=True)


def attack_curves(attacks: dict) -> pd.DataFrame:
    """Tidy curves of stored attacks {label: Artifact} (model, lr, step, metric, value, key), or of {method: {label:
    Artifact}} (method, model, lr, step, metric, value, key); key: the attack's store key."""
    if attacks and all(isinstance(v, dict) for v in attacks.values()):
        return pd.concat([attack_curves(v).assign(method=k) for k, v in attacks.items()],
                         ignore_index=True)[["method", "model", "lr", "step", "metric", "value", "key"]]
    columns = ["model", "lr", "step", "metric", "value", "key"]
    frames = [a.metrics.assign(model=label, key=a.key) for label, a in attacks.items()]
    return pd.concat(frames or [pd.DataFrame(columns=columns)], ignore_index=True)[columns]


def adversary_curves(attacks: dict) -> pd.DataFrame:
    """Tidy curves of Section 6's attacks {adversary: {method: {label: Artifact}}}: attack_curves' columns after an
    `adversary` one."""
    frames = [attack_curves(by_method).assign(adversary=adversary) for adversary, by_method in attacks.items()]
    if not frames:
        raise ValueError("no adversaries' attacks")
    out = pd.concat(frames, ignore_index=True)
    return out[["adversary"] + [c for c in out.columns if c != "adversary"]]


def undo_label(alpha: float, beta: float) -> str:
    """The label of an UNDO student in attack tables: "UNDO alpha=a beta=b" (undo_point reads it back)."""
    return f"UNDO alpha={alpha:g} beta={beta:g}"


def undo_point(label: str):
    """(alpha, beta) of an UNDO student's label (undo_label), else None."""
    if not label.startswith("UNDO alpha="):
        return None
    return tuple(float(x.split("=")[1]) for x in label.split()[1:])


def undo_curves(attacks: dict) -> pd.DataFrame:
    """`attack_curves` of the attacks on UNDO's students (labels "UNDO alpha=a beta=b") and the baselines, with
    the students' alpha and beta (empty for the baselines)."""
    curves = attack_curves(attacks)
    alpha_beta = {label: undo_point(label) for label in attacks if undo_point(label)}
    curves["alpha"] = curves.model.map(lambda m: alpha_beta.get(m, (None, None))[0])
    curves["beta"] = curves.model.map(lambda m: alpha_beta.get(m, (None, None))[1])
    return curves


def item_scores(attacks: dict, metric: str = "forget") -> tuple[list, list, list, np.ndarray]:
    """(labels, rates, steps, scores [models, rates, steps, items]) of stored attacks {label: Artifact}: each
    item's grade at every graded step of every rate (the attacks' `items`), for paired bootstraps."""
    labels, grids = list(attacks), [a.items for a in attacks.values()]
    if not labels or not all(grids):
        raise ValueError(f"per-item grades missing for {[k for k, g in zip(labels, grids) if not g]} "
                         "(attacks stored before store version 2 have none)")
    keys = [(lr, step) for lr, step, m in grids[0] if m == metric]
    rates, steps = sorted({lr for lr, _ in keys}), sorted({step for _, step in keys})
    scores = np.stack([np.stack([np.stack([g[(lr, step, metric)] for step in steps]) for lr in rates])
                       for g in grids])
    return labels, rates, steps, scores


def save_results(table: pd.DataFrame, name: str, results_dir, scale: str, setting: str, seed: int) -> Path:
    """Write a tidy table to <results_dir>/<name>.csv, replacing the rows of the same (scale, setting, seed)."""
    path = Path(results_dir) / f"{name}.csv"
    upsert_csv(table.assign(scale=scale, setting=setting, seed=int(seed)), path, ["scale", "setting", "seed"])
    return path


def load_results(name: str, results_dir, scale: str, setting: str) -> pd.DataFrame:
    """Every seed's rows of <results_dir>/<name>.csv for one scale and setting (what `save_results` wrote)."""
    t = pd.read_csv(Path(results_dir) / f"{name}.csv")
    return t[(t.scale == scale) & (t.setting == setting)].reset_index(drop=True)


def stage_points(curves: pd.DataFrame, short_step: int, higher_is_better: bool, capped=()) -> pd.DataFrame:
    """Fig 7's points from relearning curves (method, model, lr, step, metric, value): for each attacked model, its
    retain performance before the attack and the worst-case forget performance before the attack, after the short
    attack (the first graded step at or after `short_step`) and at the end of the long one. capped: the
    (method, model) pairs of UNDO students that stopped at the step cap without recovering.

    Returns tidy (method, model, stage, step, retain, forget, capped), stage in "before", "short", "long", and the
    attack's store key when the curves carry one."""
    worst = worst_case(curves, higher_is_better)
    graded = sorted(worst.step.unique())
    short = next((s for s in graded if s >= short_step), graded[-1])
    retain = curves[(curves.metric == "retain") & (curves.step == 0)].groupby(["method", "model"])["value"].first()
    frames = []
    for stage, step in (("before", 0), ("short", short), ("long", graded[-1])):
        at = worst[worst.step == step].set_index(["method", "model"])["value"].rename("forget")
        frames.append(pd.concat([retain.rename("retain"), at], axis=1).reset_index().assign(stage=stage, step=step))
    out = pd.concat(frames, ignore_index=True)[["method", "model", "stage", "step", "retain", "forget"]]
    out["capped"] = [(m, model) in set(capped) for m, model in zip(out.method, out.model)]
    if "key" in curves:
        keys = curves.groupby(["method", "model"])["key"].first()
        out["key"] = [keys[(m, model)] for m, model in zip(out.method, out.model)]
    return out


RUN_LOGS = ("times.csv", "pauses.csv", "running.csv")  # benchmarks/regen.sh's logs, which are not results
PER_CLAIM = {"claims.csv": ["claim", "setting", "seed"], "claims_draws.csv": ["claim", "setting", "seed", "draw"]}


def adopt_rerun(rerun_dir, results_dir) -> tuple[list[str], list[str]]:
    """Make a regeneration's tables (results/reruns/<name>/, written by benchmarks/regen.sh) those of `results_dir`.

    Each CSV of `rerun_dir` replaces the one of the same name, except the claims tables (several notebooks write
    them), in which only the claims the rerun holds are replaced: the claims of notebooks it did not run stay.
    Returns (names replaced, names of `results_dir` left as they were). Raises ValueError on a rerun with no
    tables, so that nothing is adopted from an empty folder."""
    rerun_dir, results_dir = Path(rerun_dir), Path(results_dir)
    new = sorted(p for p in rerun_dir.glob("*.csv") if p.name not in RUN_LOGS)
    if not new:
        raise ValueError(f"{rerun_dir}: no result tables to adopt")
    for path in new:
        target, table = results_dir / path.name, pd.read_csv(path)
        if path.name in PER_CLAIM and target.exists():
            old = pd.read_csv(target)
            table = pd.concat([old[~old.claim.isin(set(table.claim))], table], ignore_index=True)
            table = table.sort_values(PER_CLAIM[path.name], kind="stable")
        table.to_csv(target, index=False)
    replaced = [p.name for p in new]
    adopted = set(replaced)
    kept = sorted(p.name for p in results_dir.glob("*.csv") if p.name not in adopted)
    return replaced, kept
