import pytest
import torch

from undo_lib.data import language
from undo_lib.models import MODEL_PRESETS, build_model, gemma2_config, n_parameters


@pytest.mark.parametrize("name, vocab, low, high", [("gemma-2-0.1b", 256_000, 100e6, 115e6),
                                                     ("gemma-2-0.3b", 256_000, 300e6, 335e6),
                                                     ("small", 607, 1.0e6, 1.2e6)])
def test_presets_build_with_the_expected_size(name, vocab, low, high):
    with torch.device("meta"):  # no memory, no time: only shapes
        model = build_model(MODEL_PRESETS[name], vocab, seed=0)
    assert low < n_parameters(model) < high
    cfg = model.config
    assert cfg._attn_implementation == "eager"
    assert cfg.num_key_value_heads == (4 if name.startswith("gemma") else cfg.num_attention_heads)


def test_table1_shapes():
    cfg = gemma2_config(MODEL_PRESETS["gemma-2-0.1b"], 256_000)
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size, cfg.intermediate_size, cfg.head_dim) == \
        (14, 8, 320, 1280, 128)


def test_same_seed_same_weights_and_global_rng_untouched():
    state = torch.random.get_rng_state()
    a, b = (build_model(MODEL_PRESETS["tiny"], 50, seed=3) for _ in range(2))
    c = build_model(MODEL_PRESETS["tiny"], 50, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_hub_text_fails_with_a_clear_message_offline(offline):
    with pytest.raises(RuntimeError, match="Could not stream HuggingFaceFW/fineweb-2"):
        language.hub_documents("korean", "train", 10)
