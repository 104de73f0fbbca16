"""Content-addressed artifacts: every stage's output lives under a folder named by a hash of its full config.

store/<scale>/<kind>-<hash>/ holds config.json, model/ (save_pretrained), metrics.csv, and DONE once complete.
DONE records the sha256 of every file of the artifact; `find` checks them (and that config.json still describes the
stage) before anything is read, so a damaged artifact raises `StoreError` naming its folder instead of flowing into
a result. Writes are atomic (written aside under a per-process name, then renamed), so a killed run never leaves a
half-written artifact; a stage that is not DONE resumes from its checkpoint.pt. `lock` serializes the processes that
would write the same artifact or the same CSV file.
"""
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

# Bump when a change to the code invalidates stored artifacts (2: fact splits, three splits; 3: the language
# evaluation grades a window of every document, and stages store metrics graded on it).
STORE_VERSION = 3
LOCK_TIMEOUT = 24 * 3600  # seconds a process waits for another one's stage before giving up


class StoreError(RuntimeError):
    """A damaged or missing artifact: the message names its folder and what to do."""


def default_store(scale: str) -> Path:
    """store/<scale> under the repository root, or under $UNDO_STORE when set."""
    from . import repo_path
    root = os.environ.get("UNDO_STORE")
    return Path(root) / scale if root else repo_path("store", scale)


def config_key(config: dict) -> str:
    blob = json.dumps({"version": STORE_VERSION, **config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _tmp(path: Path) -> Path:
    """A per-process temporary name beside `path`: two processes never write the same temporary file."""
    return path.with_name(f"{path.name}.tmp{os.getpid()}")


@contextmanager
def lock(path):
    """Hold an exclusive lock for `path` (a file lock beside it) across processes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT):
        yield


def write_csv(df: pd.DataFrame, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def upsert_csv(df: pd.DataFrame, path, keys) -> pd.DataFrame:
    """Write `df` into the CSV at `path`, replacing earlier rows that share its values of `keys`; other processes'
    writes to the same file wait for this one (a file lock)."""
    path = Path(path)
    with lock(path):
        if path.exists():
            old = pd.read_csv(path)
            new_keys = set(map(tuple, df[keys].astype(str).values))
            old = old[[tuple(k) not in new_keys for k in old[keys].astype(str).values]]
            df = pd.concat([old, df], ignore_index=True)
        write_csv(df, path)
    return df


def save_model(model, path) -> None:
    path = Path(path)
    tmp = _tmp(path)
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


def _recorded(path: Path) -> list[Path]:
    """The files of an artifact that DONE records: everything but DONE, checkpoints and temporary files."""
    skip = ("DONE", "checkpoint.pt")
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name not in skip and ".tmp" not in p.name
                  and not p.name.endswith(".lock"))


def file_hashes(path: Path) -> dict:
    """{relative path: sha256} of the files of the artifact folder `path`."""
    out = {}
    for f in _recorded(path):
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out[f.relative_to(path).as_posix()] = h.hexdigest()
    return out


def _damaged(path: Path, what: str) -> StoreError:
    return StoreError(f"the stored artifact {path} is damaged: {what}. Delete the folder to recompute it: "
                      f"rm -r {path}")


@dataclass
class Artifact:
    """A finished stage: its folder, config and metrics; `model()` loads its weights."""
    kind: str
    key: str
    path: Path
    config: dict

    @property
    def metrics(self) -> pd.DataFrame:
        try:
            return pd.read_csv(self.path / "metrics.csv")
        except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError) as error:
            raise _damaged(self.path, f"metrics.csv is unreadable ({error})") from error

    @property
    def items(self) -> dict:
        """Per-item grades of an attack, {(lr, step, metric): numpy [N]} (items.npz); {} for other stages."""
        path = self.path / "items.npz"
        if not path.exists():
            return {}
        with np.load(path) as z:
            out = {}
            for name in z.files:
                lr, step, metric = name.split("|")
                out[(float(lr), int(step), metric)] = z[name]
            return out

    def model(self):
        from .models import load_model
        if not (self.path / "model").is_dir():
            raise _damaged(self.path, "it has no model/ folder")
        try:
            return load_model(self.path / "model")
        except Exception as error:
            raise _damaged(self.path, f"its model does not load ({type(error).__name__}: {error})") from error


class Store:
    def __init__(self, root):
        self.root = Path(root)
        self._verified = {}  # folder -> the (name, size, mtime) of its files when last checked

    def folder(self, kind: str, config: dict) -> Path:
        return self.root / f"{kind}-{config_key(config)}"

    def find(self, kind: str, config: dict) -> Artifact | None:
        """The finished artifact of `config`, its files checked against DONE; None if not finished."""
        path = self.folder(kind, config)
        if not (path / "DONE").exists():
            return None
        self.verify(path, config)
        return Artifact(kind, path.name.rsplit("-", 1)[1], path, config)

    def by_key(self, key: str) -> Artifact:
        """The finished artifact whose config hashes to `key`, whatever its kind."""
        for path in self.root.glob(f"*-{key}"):
            if (path / "DONE").exists():
                try:
                    config = json.loads((path / "config.json").read_text())
                except (OSError, ValueError) as error:
                    raise _damaged(path, f"config.json is unreadable ({error})") from error
                self.verify(path, config)
                return Artifact(path.name.rsplit("-", 1)[0], key, path, config)
        raise StoreError(f"no finished artifact with key {key} under {self.root}: the stage it names was never "
                         "finished in this store, or its folder was deleted (run the notebook that makes it)")

    def verify(self, path: Path, config: dict) -> None:
        """Raise StoreError unless the artifact at `path` is what DONE recorded and config.json describes `config`.
        An artifact finished before checksums existed (an empty DONE) gets them recorded now."""
        stats = [(f.name, st.st_size, st.st_mtime_ns) for f in _recorded(path) for st in [f.stat()]]
        if self._verified.get(path) == stats:
            return
        try:
            stored = json.loads((path / "config.json").read_text())
        except (OSError, ValueError) as error:
            raise _damaged(path, f"config.json is unreadable ({error})") from error
        if stored != json.loads(json.dumps(config, default=str)) or config_key(stored) != path.name.rsplit("-", 1)[1]:
            raise _damaged(path, "config.json no longer describes the stage its folder is named after")
        done = (path / "DONE").read_text().strip()
        hashes = file_hashes(path)
        if not done:  # stored before DONE recorded checksums: trust it once, record them now
            (path / "DONE").write_text(json.dumps({"sha256": hashes}, indent=1, sort_keys=True))
        else:
            try:
                recorded = json.loads(done)["sha256"]
            except (ValueError, KeyError, TypeError) as error:
                raise _damaged(path, "its DONE file is unreadable") from error
            changed = sorted(set(recorded) ^ set(hashes) | {f for f in recorded if recorded[f] != hashes.get(f)})
            if changed:
                raise _damaged(path, f"{', '.join(changed[:5])} differ from the checksums recorded when it was stored")
        self._verified[path] = stats

    def begin(self, kind: str, config: dict) -> Path:
        path = self.folder(kind, config)
        path.mkdir(parents=True, exist_ok=True)
        write_text = json.dumps(config, indent=1, sort_keys=True, default=str)
        tmp = _tmp(path / "config.json")
        tmp.write_text(write_text)
        os.replace(tmp, path / "config.json")
        return path

    def lock(self, kind: str, config: dict):
        """A lock for the stage `config` describes: a second process waits, then finds the first one's result."""
        return lock(self.root / ".locks" / self.folder(kind, config).name)

    def finish(self, kind: str, config: dict, model=None, metrics: pd.DataFrame | None = None,
               items: dict | None = None) -> Artifact:
        """Write the artifact (model, metrics, per-item grades {(lr, step, metric): array}) and mark it DONE."""
        path = self.begin(kind, config)
        if model is not None:
            save_model(model, path / "model")
        if metrics is not None:
            write_csv(metrics, path / "metrics.csv")
        if items:
            tmp = _tmp(path / "items.npz")
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **{f"{lr!r}|{step}|{metric}": v for (lr, step, metric), v in items.items()})
            os.replace(tmp, path / "items.npz")
        (path / "checkpoint.pt").unlink(missing_ok=True)
        done = _tmp(path / "DONE")
        done.write_text(json.dumps({"sha256": file_hashes(path)}, indent=1, sort_keys=True))
        os.replace(done, path / "DONE")
        return self.find(kind, config)
