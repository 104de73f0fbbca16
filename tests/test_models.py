import pytest
import torch

from undo_lib.data import language
from undo_lib.models import (MODEL_PRESETS, build_model, compiling, forward, gemma2_config, n_parameters,
                             precision)

from conftest import TINY


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


def test_forward_returns_logits_and_hidden_states_and_checks_its_switch(tiny_model, monkeypatch):
    ids = torch.randint(0, 40, (3, 8))
    out = forward(tiny_model, ids, torch.ones_like(ids), output_hidden_states=True)
    assert out.logits.shape == (3, 8, tiny_model.config.vocab_size) and len(out.hidden_states) == 3
    assert forward(tiny_model, ids, torch.ones_like(ids)).hidden_states is None
    monkeypatch.setenv("UNDO_COMPILE", "yes")
    with pytest.raises(ValueError, match="UNDO_COMPILE must be 0 or 1"):
        forward(tiny_model, ids, torch.ones_like(ids))
    monkeypatch.delenv("UNDO_COMPILE")
    assert compiling()  # the notebooks compile unless told not to; the tests run eager (conftest)


@pytest.mark.slow
def test_one_compiled_graph_serves_every_model_of_a_shape(digits_tokenizer, monkeypatch, tmp_path):
    """UNDO_COMPILE=1: the compiled forward equals the eager one, and a second model of the same shape reuses the
    graph (the model is an argument of the compiled function), so a new stage does not compile again."""
    from torch._dynamo.utils import counters
    monkeypatch.setenv("UNDO_COMPILE", "1")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    ids = torch.randint(0, len(digits_tokenizer), (4, 12))
    graphs = []
    for seed in (0, 1):
        model = build_model(TINY, len(digits_tokenizer), seed=seed, tokenizer=digits_tokenizer).eval()
        with torch.no_grad():
            compiled = forward(model, ids, torch.ones_like(ids)).logits
            eager = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        torch.testing.assert_close(compiled, eager, atol=1e-5, rtol=1e-5)
        graphs.append(counters["stats"]["unique_graphs"])
    assert graphs[0] >= 1 and graphs[1] == graphs[0]


def test_rescaling_a_down_projection_keeps_the_function_and_sets_the_norm(tiny_model):
    """Gemma-2's post-feed-forward RMSNorm makes a down projection's scale free: blown up 1000x (as RMU's rates do)
    or scaled back, the logits stay the same; rescale_weights sets the norms it is given. (Up to the norm's eps,
    1e-6 against the mean square of the projection's output: a fresh tiny model's outputs are so small that eps
    counts, so its projection is first made 100x larger, as a trained model's outputs are.)"""
    from undo_lib.models import rescale_weights, weight_norms
    ids = torch.randint(0, 40, (3, 8))
    name = "model.layers.1.mlp.down_proj.weight"
    with torch.no_grad():
        tiny_model.get_parameter(name).mul_(100.0)
    start = weight_norms(tiny_model, [name])
    with torch.no_grad():
        before = tiny_model(input_ids=ids).logits
        tiny_model.get_parameter(name).mul_(1000.0)
        blown_up = tiny_model(input_ids=ids).logits
        rescale_weights(tiny_model, start)
        after = tiny_model(input_ids=ids).logits
    torch.testing.assert_close(blown_up, before, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)
    assert weight_norms(tiny_model, [name])[name] == pytest.approx(start[name], rel=1e-6)
    gate = "model.layers.1.mlp.gate_proj.weight"  # behind the GELU, not scale-free: the check can fail
    with torch.no_grad():
        tiny_model.get_parameter(gate).mul_(3.0)
        assert not torch.allclose(tiny_model(input_ids=ids).logits, before, atol=1e-3)


def test_precision_is_bf16_on_a_gpu_only_and_checks_its_switch(tiny_model, monkeypatch):
    monkeypatch.delenv("UNDO_PRECISION", raising=False)
    assert precision("cpu") == "fp32" and precision(torch.device("cuda")) == "bf16"
    monkeypatch.setenv("UNDO_PRECISION", "fp32")
    assert precision("cuda") == "fp32"
    monkeypatch.setenv("UNDO_PRECISION", "bf16")  # asked for, but a CPU stays in fp32: its results do not change
    ids = torch.tensor([[1, 2, 3, 4]])
    out = forward(tiny_model, ids, torch.ones_like(ids))
    assert out.logits.dtype == torch.float32
    assert torch.equal(out.logits, tiny_model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits)
    monkeypatch.setenv("UNDO_PRECISION", "fp16")
    with pytest.raises(ValueError, match="UNDO_PRECISION"):
        forward(tiny_model, ids, torch.ones_like(ids))
