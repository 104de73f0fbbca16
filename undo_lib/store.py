"""Content-addressed artifacts: every stage's output lives under a folder named by a hash of its full config.

store/<scale>/<kind>-<hash>/ holds config.json, model/ (save_pretrained), metrics.csv, and DONE once complete.
Writes are atomic (written aside, then renamed), so a killed run never leaves a half-written artifact; a stage that
is not DONE resumes from its checkpoint.pt.
"""
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

STORE_VERSION = 1  # bump when a change to the code invalidates stored artifacts


def default_store(scale: str) -> Path:
    """store/<scale> under the repository root, or under $UNDO_STORE when set."""
    from . import repo_path
    root = os.environ.get("UNDO_STORE")
    return Path(root) / scale if root else repo_path("store", scale)


def config_key(config: dict) -> str:
    blob = json.dumps({"version": STORE_VERSION, **config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_csv(df: pd.DataFrame, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def upsert_csv(df: pd.DataFrame, path, keys) -> pd.DataFrame:
    """Write `df` into the CSV at `path`, replacing earlier rows that share its values of `keys`."""
    path = Path(path)
    if path.exists():
        old = pd.read_csv(path)
        new_keys = set(map(tuple, df[keys].astype(str).values))
        old = old[[tuple(k) not in new_keys for k in old[keys].astype(str).values]]
        df = pd.concat([old, df], ignore_index=True)
    write_csv(df, path)
    return df


def save_model(model, path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


@dataclass
class Artifact:
    """A finished stage: its folder, config and metrics; `model()` loads its weights."""
    kind: str
    key: str
    path: Path
    config: dict

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "metrics.csv")

    def model(self):
        from .models import load_model
        return load_model(self.path / "model")


class Store:
    def __init__(self, root):
        self.root = Path(root)

    def folder(self, kind: str, config: dict) -> Path:
        return self.root / f"{kind}-{config_key(config)}"

    def find(self, kind: str, config: dict) -> Artifact | None:
        path = self.folder(kind, config)
        return Artifact(kind, path.name.rsplit("-", 1)[1], path, config) if (path / "DONE").exists() else None

    def by_key(self, key: str) -> Artifact:
        """The finished artifact whose config hashes to `key`, whatever its kind."""
        for path in self.root.glob(f"*-{key}"):
            if (path / "DONE").exists():
                return Artifact(path.name.rsplit("-", 1)[0], key, path, json.loads((path / "config.json").read_text()))
        raise FileNotFoundError(f"no finished artifact with key {key} under {self.root}")

    def begin(self, kind: str, config: dict) -> Path:
        path = self.folder(kind, config)
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True, default=str))
        return path

    def finish(self, kind: str, config: dict, model=None, metrics: pd.DataFrame | None = None) -> Artifact:
        path = self.begin(kind, config)
        if model is not None:
            save_model(model, path / "model")
        if metrics is not None:
            write_csv(metrics, path / "metrics.csv")
        (path / "checkpoint.pt").unlink(missing_ok=True)
        (path / "DONE").touch()
        return self.find(kind, config)
