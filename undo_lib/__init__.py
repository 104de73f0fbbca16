"""undo_lib: the library behind the notebooks of the 'Distillation Robustifies Unlearning' companion.

Data flows scale preset -> Experiment -> cached stages (pretrain, distill, relearn) -> tidy tables -> plots and claims.
"""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# With UNDO_COMPILE=1 inductor keeps its compiled kernels beside the store, for worker processes and re-runs; set
# here because importing torch's libraries fixes the directory (TORCHINDUCTOR_CACHE_DIR set by a user wins).
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(REPO_ROOT / "store" / ".inductor"))


def repo_path(*parts) -> Path:
    """A path under the repository root, whatever the current working directory is."""
    return REPO_ROOT.joinpath(*parts)
