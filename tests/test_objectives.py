"""Each objective against a brute-force, position-by-position reference computation."""
import math
from types import SimpleNamespace

import torch

from undo_lib.objectives import cross_entropy, forward_kl


def _batch(B=3, T=7, V=11, pad_from=(7, 4, 5)):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(pad_from):
        mask[b, :n] = 1
    return ids, mask, torch.randn(B, T, V, generator=g) * 3, torch.randn(B, T, V, generator=g) * 3


def test_cross_entropy_matches_brute_force_with_padding():
    ids, mask, logits, _ = _batch()
    total, count = 0.0, 0
    for b in range(ids.shape[0]):
        for t in range(ids.shape[1] - 1):
            if mask[b, t] and mask[b, t + 1]:
                p = torch.softmax(logits[b, t].double(), -1)
                total += -math.log(p[ids[b, t + 1]].item())
                count += 1
    got = cross_entropy(SimpleNamespace(logits=logits), {"input_ids": ids, "attention_mask": mask})
    assert count == 6 + 3 + 4
    assert abs(got.item() - total / count) < 1e-5


def test_forward_kl_matches_brute_force_with_padding():
    ids, mask, student, teacher = _batch()
    total, count = 0.0, 0
    for b in range(ids.shape[0]):
        for t in range(ids.shape[1]):
            if mask[b, t]:
                p = torch.softmax(teacher[b, t].double(), -1)
                q = torch.softmax(student[b, t].double(), -1)
                total += sum(p[v].item() * math.log(p[v].item() / q[v].item()) for v in range(len(p)))
                count += 1
    got = forward_kl(SimpleNamespace(logits=student),
                     {"input_ids": ids, "attention_mask": mask, "teacher_logits": teacher})
    assert abs(got.item() - total / count) < 1e-5


def test_forward_kl_is_zero_for_identical_outputs_and_positive_otherwise():
    ids, mask, student, teacher = _batch()
    batch = {"input_ids": ids, "attention_mask": mask, "teacher_logits": student.clone()}
    assert forward_kl(SimpleNamespace(logits=student), batch).abs().item() < 1e-6
    batch["teacher_logits"] = teacher
    assert forward_kl(SimpleNamespace(logits=student), batch).item() > 0.1


def test_forward_kl_is_computed_in_fp32_from_bf16_logits():
    ids, mask, student, teacher = _batch()
    batch = {"input_ids": ids, "attention_mask": mask, "teacher_logits": teacher.bfloat16()}
    got = forward_kl(SimpleNamespace(logits=student.bfloat16()), batch)
    assert got.dtype == torch.float32
