"""Training objectives: pure functions of (model outputs, batch) -> scalar loss.

Shapes: B rows, T positions, V vocabulary. `outputs.logits` is [B, T, V]; `batch["input_ids"]` and
`batch["attention_mask"]` are [B, T]. Position t predicts token t + 1, so T - 1 positions carry a loss; a position
counts when both it and its target are real tokens (attention_mask 1). Losses are means over counted positions.
"""
import torch
import torch.nn.functional as F


def _target_mask(batch) -> torch.Tensor:
    """[B, T-1] float: 1 where position t and its target t + 1 are both real tokens."""
    mask = batch["attention_mask"]
    return (mask[:, :-1] * mask[:, 1:]).float()


def cross_entropy(outputs, batch) -> torch.Tensor:
    """Next-token cross-entropy (nats per token), padding masked."""
    logits = outputs.logits[:, :-1].float()
    targets = batch["input_ids"][:, 1:]
    per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    mask = _target_mask(batch).reshape(-1)
    return (per_token * mask).sum() / mask.sum().clamp_min(1)


def forward_kl(outputs, batch) -> torch.Tensor:
    """Distillation loss KL(teacher || student) = sum_v p_t(v) (log p_t(v) - log p_s(v)), averaged over positions.

    Needs `batch["teacher_logits"]` [B, T, V] (added by the training loop from the frozen teacher). Computed in fp32;
    every position with a real token counts (distillation matches the whole next-token distribution, so the last
    position too), padding does not.
    """
    student = F.log_softmax(outputs.logits.float(), dim=-1)
    teacher = F.log_softmax(batch["teacher_logits"].float(), dim=-1)
    per_position = (teacher.exp() * (teacher - student)).sum(-1)  # [B, T]
    mask = batch["attention_mask"].float()
    return (per_position * mask).sum() / mask.sum().clamp_min(1)


OBJECTIVES = {"cross_entropy": cross_entropy, "forward_kl": forward_kl}
NEEDS_TEACHER = {"forward_kl"}
