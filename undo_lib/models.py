"""Gemma-2 causal language models built from a config (never downloaded), at every scale of the companion."""
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
from accelerate.utils import extract_model_from_parallel
from transformers import Gemma2Config, Gemma2ForCausalLM
from transformers.utils import logging as hf_logging

from . import repo_path

hf_logging.disable_progress_bar()  # weight loading/saving bars would drown the training progress bars


@dataclass(frozen=True)
class ModelCfg:
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    head_dim: int
    max_position_embeddings: int = 2048
    num_key_value_heads: int | None = None  # None: as many as attention heads (no grouped-query attention)


# Table 1 of the paper for "0.1B" and "0.3B" (key/value heads as in Gemma-2, half the attention heads: Table 1 does
# not say; this gives 113M and ~330M parameters with the Gemma vocabulary, near the paper's ~100M and ~300M);
# the others are small presets for the laptop scales.
MODEL_PRESETS = {
    "tiny": ModelCfg(32, 64, 2, 2, 16, 512),
    "small": ModelCfg(128, 512, 4, 4, 32, 512),
    "medium": ModelCfg(320, 1280, 8, 8, 64, 2048),
    "gemma-2-0.1b": ModelCfg(320, 1280, 14, 8, 128, 2048, num_key_value_heads=4),
    "gemma-2-0.3b": ModelCfg(768, 3072, 14, 8, 128, 2048, num_key_value_heads=4),
}


def gemma2_config(cfg: ModelCfg, vocab_size: int, tokenizer=None) -> Gemma2Config:
    special = {}
    if tokenizer is not None:
        special = dict(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id)
    shape = asdict(cfg)
    shape["num_key_value_heads"] = cfg.num_key_value_heads or cfg.num_attention_heads
    return Gemma2Config(vocab_size=vocab_size, attn_implementation="eager", use_cache=False, **shape, **special)


def build_model(cfg: ModelCfg, vocab_size: int, seed: int, tokenizer=None) -> Gemma2ForCausalLM:
    """A randomly initialized Gemma-2 (the library's own initializer, std 0.02), reproducible from `seed`
    without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Gemma2ForCausalLM(gemma2_config(cfg, vocab_size, tokenizer))
    return model


def load_model(path) -> Gemma2ForCausalLM:
    """A stored model (a local folder, never a hub id); raises when its weights miss, add or misshape a tensor."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} holds no saved model (no config.json)")
    model, info = Gemma2ForCausalLM.from_pretrained(path, attn_implementation="eager", output_loading_info=True,
                                                    local_files_only=True)
    wrong = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if wrong:
        raise ValueError(f"the weights in {path} do not fit the model: " + "; ".join(
            f"{k.replace('_', ' ')}: {', '.join(map(str, sorted(v)[:5]))}" for k, v in wrong.items()))
    return model


def n_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


@contextmanager
def mlp_outputs(model):
    """Collect every decoder layer's MLP output [B, T, D] during the forwards run inside; hooks removed on exit."""
    outs = []
    handles = [layer.mlp.register_forward_hook(lambda module, args, out: outs.append(out)) for layer in model.model.layers]
    try:
        yield outs
    finally:
        for h in handles:
            h.remove()


def readout(model, final_hidden: torch.Tensor) -> torch.Tensor:
    """Logits [B, T, V] from the final, normed hidden state [B, T, D] (the base model's last_hidden_state): the
    output layer and Gemma-2's final logit soft-capping, as the model's own forward applies them."""
    logits = model.lm_head(final_hidden)
    cap = model.config.final_logit_softcapping
    return torch.tanh(logits / cap) * cap if cap else logits


def logit_lens(model, hidden: torch.Tensor) -> torch.Tensor:
    """Read a residual-stream state [B, T, D] out as logits [B, T, V]: the final norm, then `readout`, as for the
    last layer's output."""
    return readout(model, model.model.norm(hidden))


def forward_with_internals(net, model, input_ids, attention_mask) -> SimpleNamespace:
    """Run `net` (the model, or its distributed wrapper) and return logits, hidden_states, mlp_outputs (one per
    layer) and lens_logits: the logit-lens readout of every layer's output but the last (whose readout is logits)."""
    with mlp_outputs(model) as mlps:
        out = net(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return SimpleNamespace(logits=out.logits, hidden_states=out.hidden_states, mlp_outputs=list(mlps),
                           lens_logits=[logit_lens(model, h) for h in out.hidden_states[1:-1]])


def weight_norms(model, names) -> dict:
    """{name: Frobenius norm} of the named parameters."""
    return {name: float(model.get_parameter(name).detach().norm()) for name in names}


def rescale_weights(model, norms: dict) -> None:
    """Scale each named parameter, in place, to the Frobenius norm `norms` gives it. Where an RMSNorm follows the
    parameter's output (Gemma-2's down projections), the model computes the same function: RMU trains those
    projections at rates that blow their weights up by orders of magnitude, and a relearning attack's Adam steps,
    each about its learning rate per weight, would barely move weights that large."""
    with torch.no_grad():
        for name, norm in norms.items():
            weight = model.get_parameter(name)
            weight.mul_(norm / weight.norm())


def compiling() -> bool:
    """Whether `forward` runs through torch.compile: UNDO_COMPILE=1, the default from store version 3 on (a
    notebook's worker pool compiles each graph once and trains hours with it: arithmetic pretraining 1.13x eager in
    the pool, attacks 1.2-1.4x; docs/development.md, Benchmarks). The tests set 0 (tests/conftest.py): their tiny
    runs would spend more time compiling than training."""
    flag = os.environ.get("UNDO_COMPILE", "1")
    if flag not in ("0", "1"):
        raise ValueError(f"UNDO_COMPILE must be 0 or 1, got {flag!r}")
    return flag == "1"


def _call(net, input_ids, attention_mask, output_hidden_states):
    out = net(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=output_hidden_states)
    return out.logits, out.hidden_states


_compiled_call = None


def _compiled():
    """The compiled `_call`, made once per process. Inductor's cache goes under the store (UNDO_STORE, else
    store/) unless TORCHINDUCTOR_CACHE_DIR names another place: worker processes and re-runs share it."""
    global _compiled_call
    if _compiled_call is None:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir
        if os.environ.get("TORCHINDUCTOR_CACHE_DIR", default_cache_dir()) == os.path.abspath(default_cache_dir()):
            store = os.environ.get("UNDO_STORE") or str(repo_path("store"))
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(store, ".inductor")
        for limit in ("recompile_limit", "cache_size_limit"):  # the name changed across torch versions
            if hasattr(torch._dynamo.config, limit):
                setattr(torch._dynamo.config, limit, 64)  # a graph per (shape, grad mode)
        _compiled_call = torch.compile(_call, dynamic=False)
    return _compiled_call


def forward(net, input_ids, attention_mask, output_hidden_states: bool = False) -> SimpleNamespace:
    """logits [B, T, V] and hidden_states (a tuple of [B, T, D], or None) of `net` on one batch.

    With UNDO_COMPILE=1 one compiled function serves every model of the process: the model is an argument, so a new
    model of the same shape reuses the graph (one graph per batch shape and grad mode, no dynamic shapes), and
    inductor's on-disk cache under the store serves worker processes and re-runs. A distributed wrapper (DDP, FSDP,
    DeepSpeed) runs eagerly."""
    call = _call
    if compiling() and extract_model_from_parallel(net) is net:  # unwrapping walks the modules: only when compiling
        call = _compiled()
    if precision(input_ids.device) == "fp32":
        logits, hidden = call(net, input_ids, attention_mask, output_hidden_states)
        return SimpleNamespace(logits=logits, hidden_states=hidden)
    with torch.autocast(input_ids.device.type, dtype=torch.bfloat16):
        logits, hidden = call(net, input_ids, attention_mask, output_hidden_states)
    return SimpleNamespace(logits=logits.float(), hidden_states=hidden)  # losses and grades in fp32


def precision(device) -> str:
    """"bf16" (autocast: matrix multiplies in bfloat16, weights and optimizer in fp32) on a GPU, "fp32" on a CPU,
    where bfloat16 matmuls are no faster. UNDO_PRECISION=fp32 keeps a GPU in fp32. Store keys do not depend on it."""
    flag = os.environ.get("UNDO_PRECISION", "bf16")
    if flag not in ("bf16", "fp32"):
        raise ValueError(f"UNDO_PRECISION must be bf16 or fp32, got {flag!r}")
    return flag if torch.device(device).type == "cuda" else "fp32"
