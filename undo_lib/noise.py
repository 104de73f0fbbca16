"""Shrink-and-perturb (Section 5): the "Noise" step of UNDO.

    θ ← (1 − α)·θ + α·β·N,    N ~ Xavier-uniform for 2-D weights, N = 0 for 1-D parameters (only shrunk),

as the authors' `do_corruption` (Appendix C), but seeded with its own `torch.Generator` (theirs ignored its seed).
α = 0 leaves the model alone; α = 1, β = 1 replaces every weight matrix by a fresh Xavier initialization.

Gemma-2's RMSNorm multiplies by (1 + w), and a fresh Gemma has w = 0. Shrinking w (the paper's behaviour, kept here)
therefore moves each norm's gain 1 + w toward 1, the gain of a fresh model, rather than toward 0 as it would for a
plain gain w: at α = 1 the norms are exactly those of a fresh initialization.
"""
import torch


def shrink_perturb(model, alpha: float, beta: float, seed: int):
    """Shrink and perturb `model`'s trainable parameters in place (and return it); see the module docstring."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"shrink_perturb: alpha must be in [0, 1], got {alpha!r}")
    if not beta >= 0:
        raise ValueError(f"shrink_perturb: beta must be >= 0, got {beta!r}")
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied weight (Gemma's embedding = output layer) comes once
            if not p.requires_grad:
                continue
            if p.dim() == 2:
                noise = torch.nn.init.xavier_uniform_(torch.empty(p.shape, dtype=torch.float32), generator=gen)
                p.mul_(1 - alpha).add_((alpha * beta * noise).to(p))
            elif p.dim() == 1:
                p.mul_(1 - alpha)
            else:
                raise ValueError(f"shrink_perturb: parameter {name} has unsupported shape {tuple(p.shape)}")
    return model
