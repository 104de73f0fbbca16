"""undo_lib: the library behind the notebooks of the 'Distillation Robustifies Unlearning' companion.

Data flows scale preset -> Experiment -> cached stages (pretrain, distill, relearn) -> tidy tables -> plots and claims.
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def repo_path(*parts) -> Path:
    """A path under the repository root, whatever the current working directory is."""
    return REPO_ROOT.joinpath(*parts)
