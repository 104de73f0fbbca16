"""Retain and forget evaluations.

Arithmetic: exact match of the greedy answer. Greedy decoding from the prompt reproduces the answer and its
terminator iff, at every answer position, the argmax of the next-token distribution given the *true* prefix is the
true token (induction over the answer: while every earlier token was right, the greedy prefix is the true prefix).
So one teacher-forced forward pass grades a whole batch of prompts; `tests/test_evaluate.py` checks this against
`generate()`.
Language: mean next-token cross-entropy per domain on held-out text.

Metric functions take logits with any leading dims, e.g. [K, N, T, V] for K models of a learning-rate sweep,
and return one value per leading index.
"""
import hashlib
from collections import OrderedDict

import torch
import torch.nn.functional as F

from . import models

EVAL_ROWS_PER_CHUNK = 128  # one chunk of 512 arithmetic problems grades 20% slower on 2 cores


def answer_batch(problems, tokenizer) -> dict:
    """Right-padded rows <bos> prompt answer <eos> with `answer_mask` on the answer and terminator tokens.

    input_ids, attention_mask, answer_mask: [N, T].
    """
    prompts = tokenizer([p for p, _ in problems], add_special_tokens=False)["input_ids"]
    answers = tokenizer([a for _, a in problems], add_special_tokens=False)["input_ids"]
    seqs = [[tokenizer.bos_token_id, *p, *a, tokenizer.eos_token_id] for p, a in zip(prompts, answers)]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    answer = torch.zeros_like(ids, dtype=torch.bool)
    for i, (seq, p) in enumerate(zip(seqs, prompts)):
        ids[i, : len(seq)] = torch.tensor(seq)
        attention[i, : len(seq)] = 1
        answer[i, 1 + len(p): len(seq)] = True
    return {"input_ids": ids, "attention_mask": attention, "answer_mask": answer}


def exact_match(logits, batch) -> torch.Tensor:
    """[..., N] bool: the greedy answer of row n is exactly right. logits [..., N, T, V]."""
    predicted = logits[..., :-1, :].argmax(-1)            # [..., N, T-1], prediction for token t + 1
    target = batch["input_ids"][:, 1:]
    graded = batch["answer_mask"][:, 1:]
    return ((predicted == target) | ~graded).all(-1)


def next_token_logprobs(logits, input_ids) -> torch.Tensor:
    """[..., N, T-1]: the log-probability (fp32) of each next token of input_ids [N, T]; logits [..., N, T, V]."""
    logp = F.log_softmax(logits[..., :-1, :].float(), dim=-1)
    target = input_ids[:, 1:].expand(logp.shape[:-1])
    return logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)


def row_nll(logits, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of next-token NLL per row [..., N], number of tokens per row [N]); logits [..., N, T, V]."""
    nll = -next_token_logprobs(logits, batch["input_ids"])
    mask = (batch["attention_mask"][:, :-1] * batch["attention_mask"][:, 1:]).float()
    return (nll * mask).sum(-1), mask.sum(-1)


def token_nll(logits, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of next-token NLL, number of tokens), each [...]; logits [..., N, T, V]."""
    nll, count = row_nll(logits, batch)
    return nll.sum(-1), count.sum()


def _chunks(batch, size=EVAL_ROWS_PER_CHUNK):
    n = batch["input_ids"].shape[0]
    for lo in range(0, n, size):
        yield {k: v[lo: lo + size] for k, v in batch.items()}


def model_forward(model):
    """forward(input_ids, attention_mask) -> logits [N, T, V] for one model (compiled with UNDO_COMPILE=1)."""
    def logits(input_ids, attention_mask):
        return models.forward(model, input_ids, attention_mask).logits
    return logits


class Evaluator:
    """Grades models on the held-out retain and forget sets of one setting.

    kind "accuracy" (higher is better, arithmetic) or "cross_entropy" (lower is better, language).
    sets: {"retain": batch, "forget": batch}, each an `answer_batch` (accuracy) or text rows (cross_entropy).
    clusters: {set name: [N] ids}: items that grade the same fact (arithmetic) or come from the same document
    (language) share an id, and the claims' bootstrap draws them together (stats.py); a set without ids has
    independent items.
    """

    MEMO_SIZE = 256  # grades remembered per evaluator

    def __init__(self, kind: str, sets: dict, clusters: dict | None = None):
        if kind not in ("accuracy", "cross_entropy"):
            raise ValueError(f"Evaluator kind must be 'accuracy' or 'cross_entropy', got {kind!r}")
        self.kind, self.sets, self.clusters = kind, sets, dict(clusters or {})
        for name, ids in self.clusters.items():
            if name not in sets or len(ids) != len(sets[name]["input_ids"]):
                raise ValueError(f"clusters of {name!r}: {len(ids)} ids, not one per item of a set {sorted(sets)}")
        self._memo = OrderedDict()  # weights fingerprint -> grades

    def only(self, *names) -> "Evaluator":
        """The same grading on a subset of the sets (e.g. "retain" while UNDO distills), half the cost."""
        missing = set(names) - set(self.sets)
        if missing:
            raise ValueError(f"Evaluator has no set(s) {sorted(missing)}; it has {sorted(self.sets)}")
        return Evaluator(self.kind, {n: self.sets[n] for n in names},
                         {n: c for n, c in self.clusters.items() if n in names})

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "accuracy"

    @torch.no_grad()
    def grade(self, forward, device="cpu", per_item: bool = False):
        """{metric: tensor [...]} for a forward returning logits [..., N, T, V]; with per_item, also each item's
        score {metric: tensor [..., N]}: 1/0 for a right/wrong answer, or a text row's mean next-token
        cross-entropy (the statistics' unit: claims resample items)."""
        out, items = {}, {}
        for name, full in self.sets.items():
            num = den = 0
            parts = []
            for batch in _chunks(full):
                batch = {k: v.to(device) for k, v in batch.items()}
                logits = forward(batch["input_ids"], batch["attention_mask"])
                if self.kind == "accuracy":
                    right = exact_match(logits, batch).float()
                    num, den = num + right.sum(-1), den + batch["input_ids"].shape[0]
                    parts.append(right)
                else:
                    nll, count = row_nll(logits, batch)
                    num, den = num + nll.sum(-1), den + count.sum()
                    parts.append(nll / count.clamp_min(1))
            out[name] = (num / den).cpu()
            items[name] = torch.cat(parts, -1).cpu()
        return (out, items) if per_item else out

    def __call__(self, model, items: dict | None = None) -> dict:
        """{metric: float} for one model (the training loop's evaluation callback); `items`, when given, is filled
        with each metric's per-item scores (numpy [N], see `grade`).

        Grades are remembered by a fingerprint of the weights, so a model graded at the end of one stage is not
        graded again at the start of the next (every run of a learning-rate sweep starts from the same model)."""
        return remembered(self._memo, self.MEMO_SIZE, model, self._grade_model, items)

    def _grade_model(self, model) -> tuple[dict, dict]:
        means, scores = self.grade(model_forward(model), next(model.parameters()).device, per_item=True)
        return {k: float(v) for k, v in means.items()}, {k: v.numpy() for k, v in scores.items()}


def remembered(memo: OrderedDict, size: int, model, grade, items: dict | None = None) -> dict:
    """grade(model) -> ({metric: float}, {metric: per-item numpy scores}), remembered in `memo` by the weights'
    fingerprint (the oldest of more than `size` forgotten); fills `items` with copies of the per-item scores and
    returns a copy of the means."""
    key = fingerprint(model)
    if key not in memo:
        memo[key] = grade(model)
        if len(memo) > size:
            memo.popitem(last=False)
    means, scores = memo[key]
    if items is not None:
        items.update({k: v.copy() for k, v in scores.items()})
    return dict(means)


def fingerprint(model) -> str:
    """A hash of a model's class, parameter and buffer names, shapes, dtypes and values: equal iff the same weights."""
    h = hashlib.blake2b(type(model).__name__.encode(), digest_size=16)
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        t = t.detach().cpu().contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
