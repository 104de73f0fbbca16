"""shrink_perturb: the formula, its seed, its limits, and α = β = 1 as a fresh Xavier initialization."""
import copy
import math

import pytest
import torch

from undo_lib.noise import shrink_perturb


def test_alpha_zero_is_the_identity_and_the_formula_holds(tiny_model):
    before = copy.deepcopy(tiny_model).state_dict()
    assert all(torch.equal(before[n], p) for n, p in shrink_perturb(copy.deepcopy(tiny_model), 0.0, 0.5, 1).state_dict().items())
    noised = shrink_perturb(copy.deepcopy(tiny_model), 0.3, 0.0, 1).state_dict()  # beta 0: shrinking only
    assert all(torch.allclose(noised[n], 0.7 * before[n]) for n in before)
    a = shrink_perturb(copy.deepcopy(tiny_model), 0.3, 0.1, 1).state_dict()
    w = "model.layers.0.mlp.down_proj.weight"
    noise = (a[w] - 0.7 * before[w]) / (0.3 * 0.1)
    bound = math.sqrt(6 / sum(before[w].shape))
    assert noise.abs().max() <= bound * 1.0001 and noise.std() > bound / 3
    norm = "model.layers.0.input_layernorm.weight"
    assert torch.allclose(a[norm], 0.7 * before[norm])  # 1-D: shrunk, never perturbed


def test_the_seed_is_used(tiny_model):
    one = shrink_perturb(copy.deepcopy(tiny_model), 0.5, 0.1, seed=1).state_dict()
    again = shrink_perturb(copy.deepcopy(tiny_model), 0.5, 0.1, seed=1).state_dict()
    other = shrink_perturb(copy.deepcopy(tiny_model), 0.5, 0.1, seed=2).state_dict()
    w = "model.layers.1.self_attn.q_proj.weight"
    assert torch.equal(one[w], again[w]) and not torch.equal(one[w], other[w])


@pytest.mark.parametrize("alpha, beta", [(-0.1, 0.1), (1.5, 0.1), (0.5, -1.0)])
def test_bad_alpha_or_beta_is_a_clear_error(tiny_model, alpha, beta):
    with pytest.raises(ValueError, match="alpha must be in|beta must be"):
        shrink_perturb(tiny_model, alpha, beta, 0)


def test_alpha_one_beta_one_is_a_fresh_xavier_initialization(tiny_model):
    """Every weight matrix becomes U(-b, b) with b = sqrt(6 / (fan_in + fan_out)) (checked by its moments and a
    Kolmogorov-Smirnov distance), independent of the old weights; every RMSNorm gain 1 + w becomes 1."""
    old = copy.deepcopy(tiny_model).state_dict()
    new = shrink_perturb(tiny_model, 1.0, 1.0, seed=0)
    for name, p in new.named_parameters():
        if p.dim() == 1:
            assert torch.count_nonzero(p) == 0, name
            continue
        b = math.sqrt(6 / (p.shape[0] + p.shape[1]))
        x = p.detach().flatten().double()
        assert abs(x.mean()) < 4 * b / math.sqrt(3 * x.numel()), name
        assert abs(x.var() / (b * b / 3) - 1) < 0.1, name
        u = torch.sort((x + b) / (2 * b)).values  # KS distance of the empirical CDF from the uniform one
        ks = (torch.arange(1, len(u) + 1, dtype=torch.double) / len(u) - u).abs().max()
        assert ks < 1.63 / math.sqrt(len(u)) + 0.01, name  # 1% critical value
        assert abs(torch.corrcoef(torch.stack([x, old[name].flatten().double()]))[0, 1]) < 0.1, name
