import os

import pytest
import torch

os.environ.setdefault("UNDO_COMPILE", "0")  # tiny models compile longer than they train; notebook kernels inherit it

from undo_lib.data.tokenizer import char_tokenizer
from undo_lib.models import ModelCfg, build_model

TINY = ModelCfg(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, head_dim=16,
                max_position_embeddings=128)


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """No test writes into the repository's store/."""
    monkeypatch.setenv("UNDO_STORE", str(tmp_path / "store"))
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits_tokenizer():
    return char_tokenizer(["0123456789 +-*/=Answer:abcdefghijklmnopqrstuvwxyz.?"])


@pytest.fixture
def tiny_model(digits_tokenizer):
    return build_model(TINY, len(digits_tokenizer), seed=0, tokenizer=digits_tokenizer)


@pytest.fixture
def offline(monkeypatch):
    """The Hugging Face hub unreachable at once (its libraries read the variables at import, so patch both)."""
    import datasets.config
    import huggingface_hub.constants
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
