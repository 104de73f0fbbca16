"""The relearning attack (Section 2, Table 4) and the worst-case adversary.

The adversary fine-tunes a model on forget data for `steps` steps at each learning rate of a sweep (Adam, constant
rate after `warmup` steps, gradient clipping), grading retain and forget every `eval_every` steps. The worst case
(the paper's bold lines) is the best forget performance across learning rates at each step.

Two paths compute the same curves: `relearn_sweep_batched` trains the K learning rates in one pass, the model's
parameters stacked along a leading K dimension (torch.func.functional_call under vmap, Adam written out over the
stack); `relearn_sweep_sequential` trains K deep copies one after the other with fused AdamW (train.adamw).
Both grade every set of the evaluator at step 0 and, after it, the sets of `later` (default: all of them again);
figures that read only the worst-case forget curve pass `later=evaluator.only("forget")`, half the grading.
"""
import copy
from dataclasses import dataclass

import pandas as pd
import torch
from torch.func import functional_call, vmap
from tqdm.auto import tqdm

from .evaluate import token_nll
from .models import forward
from .objectives import cross_entropy
from .train import adamw

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


@dataclass(frozen=True)
class AttackCfg:
    steps: int
    lrs: tuple
    batch_size: int
    eval_every: int = 5
    warmup: int = 1
    clip: float = 1.0

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 1 or self.eval_every < 1 or self.warmup < 0:
            raise ValueError(f"AttackCfg needs steps, batch_size, eval_every >= 1 and warmup >= 0, got {self}")
        if not self.lrs or any(not lr > 0 for lr in self.lrs):
            raise ValueError(f"AttackCfg.lrs must be a non-empty list of positive learning rates, got {self.lrs!r}")


def lr_at(lr: float, step: int, warmup: int) -> float:
    """Linear warmup over `warmup` steps, then constant (warmup 1 = the full rate from the first step)."""
    return lr * min(1.0, (step + 1) / warmup) if warmup > 0 else lr


def _device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _rows(lrs, step, metrics):
    return [{"lr": lr, "step": step, "metric": name, "value": float(values[k])}
            for name, values in metrics.items() for k, lr in enumerate(lrs)]


def relearn_sweep_sequential(model, batches, evaluator, cfg: AttackCfg, desc="relearn", later=None,
                             items: dict | None = None) -> pd.DataFrame:
    """Tidy (lr, step, metric, value): one deep copy of `model` fine-tuned per learning rate. `items`, when given,
    is filled with every grade's per-item scores: {(lr, step, metric): numpy [N]}."""
    device, rows, later = _device(), [], later or evaluator
    for lr in tqdm(cfg.lrs, desc=desc, leave=False):
        m = copy.deepcopy(model).to(device).train()
        opt = adamw(m.parameters(), lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0)
        for step in range(cfg.steps + 1):
            if step % cfg.eval_every == 0 or step == cfg.steps:
                m.eval()
                grade, scores = evaluator if step == 0 else later, {}
                rows += _rows([lr], step, {k: torch.tensor([v]) for k, v in grade(m, items=scores).items()})
                if items is not None:
                    items.update({(lr, step, k): v for k, v in scores.items()})
                m.train()
            if step == cfg.steps:
                break
            batch = {k: v.to(device) for k, v in batches(step).items()}
            cross_entropy(forward(m, batch["input_ids"], batch["attention_mask"]), batch).backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), cfg.clip)
            for group in opt.param_groups:
                group["lr"] = lr_at(lr, step, cfg.warmup)
            opt.step()
            opt.zero_grad(set_to_none=True)
    return pd.DataFrame(rows)


def relearn_sweep_batched(model, batches, evaluator, cfg: AttackCfg, desc="relearn", later=None,
                          items: dict | None = None) -> pd.DataFrame:
    """Tidy (lr, step, metric, value): all K learning rates in one vmapped pass over stacked parameters; `items`
    as for relearn_sweep_sequential."""
    device, rows, K, later = _device(), [], len(cfg.lrs), later or evaluator
    model = copy.deepcopy(model).to(device).eval()
    params = {n: p.detach().unsqueeze(0).repeat(K, *[1] * p.dim()).requires_grad_()
              for n, p in model.named_parameters()}
    buffers = {n: b.unsqueeze(0).expand(K, *b.shape) for n, b in model.named_buffers()}
    exp_avg = {n: torch.zeros_like(p) for n, p in params.items()}
    exp_avg_sq = {n: torch.zeros_like(p) for n, p in params.items()}
    lrs = torch.tensor(cfg.lrs, dtype=torch.float32, device=device)
    (b1, b2), eps = ADAM_BETAS, ADAM_EPS

    def logits_one(p, b, input_ids, attention_mask):
        return functional_call(model, (p, b), (), {"input_ids": input_ids, "attention_mask": attention_mask}).logits

    logits_all = vmap(logits_one, in_dims=(0, 0, None, None))  # -> [K, B, T, V]

    for step in tqdm(range(cfg.steps + 1), desc=desc, leave=False):
        if step % cfg.eval_every == 0 or step == cfg.steps:
            with torch.no_grad():
                detached = {n: p.detach() for n, p in params.items()}
                grade = evaluator if step == 0 else later
                means, scores = grade.grade(lambda i, m: logits_all(detached, buffers, i, m), device, per_item=True)
                rows += _rows(cfg.lrs, step, means)
                if items is not None:
                    items.update({(lr, step, k): v[j].numpy() for k, v in scores.items() for j, lr in enumerate(cfg.lrs)})
        if step == cfg.steps:
            break
        batch = {k: v.to(device) for k, v in batches(step).items()}
        nll, count = token_nll(logits_all(params, buffers, batch["input_ids"], batch["attention_mask"]), batch)
        grads = torch.autograd.grad((nll / count.clamp_min(1)).sum(), list(params.values()))  # model k's grads
        with torch.no_grad():
            norm = torch.sqrt(sum((g.reshape(K, -1).float() ** 2).sum(1) for g in grads))  # [K]
            clip = (cfg.clip / (norm + 1e-6)).clamp(max=1.0)
            t = step + 1
            step_size = lrs * min(1.0, t / cfg.warmup if cfg.warmup else 1.0) / (1 - b1 ** t)
            for (n, p), g in zip(params.items(), grads):
                shape = (K,) + (1,) * (p.dim() - 1)
                g = g * clip.view(shape)
                exp_avg[n].mul_(b1).add_(g, alpha=1 - b1)
                exp_avg_sq[n].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (exp_avg_sq[n].sqrt() / (1 - b2 ** t) ** 0.5).add_(eps)
                p.sub_(step_size.view(shape) * exp_avg[n] / denom)
    return pd.DataFrame(rows)


def relearn_attack(models: dict, batches, evaluator, cfg: AttackCfg, batched: bool | None = None,
                   later=None, items: dict | None = None) -> pd.DataFrame:
    """Attack every model of {label: model}; tidy (model, lr, step, metric, value). `later`: the evaluator after
    step 0 (default `evaluator`); `items`, when given, is filled with {label: {(lr, step, metric): scores [N]}}.

    batched=None picks the batched sweep on a GPU and the sequential one on a CPU, where vmap over a small model
    is slower than K plain runs (benchmarks/bench.py measures both), and on an evaluator that cannot grade the K
    stacked models at once (multiple_choice.ChoiceEvaluator)."""
    batched = torch.cuda.is_available() and hasattr(evaluator, "grade") if batched is None else batched
    sweep = relearn_sweep_batched if batched else relearn_sweep_sequential
    frames = [sweep(m, batches, evaluator, cfg, desc=f"relearn {label}", later=later,
                    items=items.setdefault(label, {}) if items is not None else None).assign(model=label)
              for label, m in models.items()]
    return pd.concat(frames, ignore_index=True)[["model", "lr", "step", "metric", "value"]]


def worst_case(curves: pd.DataFrame, higher_is_better: bool, metric: str = "forget") -> pd.DataFrame:
    """The adversary's best `metric` across learning rates at each (model, step): max accuracy or min loss.

    Returns (model, step, value, lr) with the learning rate that achieved it."""
    sub = curves[curves.metric == metric]
    keys = [c for c in sub.columns if c not in ("lr", "value", "metric")]
    groups = sub.groupby(keys, dropna=False)["value"]  # keep rows whose extra keys are empty (e.g. alpha of a baseline)
    best = groups.idxmax() if higher_is_better else groups.idxmin()
    return sub.loc[best.values, keys + ["value", "lr"]].reset_index(drop=True)


def best_rates(curves: pd.DataFrame, higher_is_better: bool, metric: str = "forget") -> pd.DataFrame:
    """Per attacked model: the attack rate that does best for the adversary at the attack's last step, whether it
    lies at an edge of the grid (the lowest or highest rate tried), where a wider grid could do better still, and
    edge_gain: by how much the best edge rate beats the best interior rate there (0 when an interior rate wins; a
    gain within the evaluation's noise means the grid's edge decides nothing).

    Returns (the models' key columns..., best_lr, at_edge, edge_gain)."""
    sub = curves[curves.metric == metric]
    keys = [c for c in sub.columns if c not in ("lr", "value", "metric", "step")]
    last = sub[sub.step == sub.groupby(keys, dropna=False)["step"].transform("max")]
    lrs = sorted(curves.lr.unique())
    sign = 1.0 if higher_is_better else -1.0
    rows = []
    for key, g in last.groupby(keys, dropna=False):
        score = sign * g.set_index("lr")["value"]
        edge, inner = score[score.index.isin([lrs[0], lrs[-1]])], score[~score.index.isin([lrs[0], lrs[-1]])]
        best = score.idxmax()
        gain = max(0.0, edge.max() - inner.max()) if len(inner) and len(edge) else 0.0
        rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))), "best_lr": best,
                     "at_edge": best in (lrs[0], lrs[-1]), "edge_gain": float(gain)})
    return pd.DataFrame(rows, columns=keys + ["best_lr", "at_edge", "edge_gain"])


def mean_across_lrs(curves: pd.DataFrame, metric: str = "forget") -> pd.DataFrame:
    """The average adversary (Fig 10): mean `metric` across learning rates at each (model, step)."""
    sub = curves[curves.metric == metric]
    keys = [c for c in sub.columns if c not in ("lr", "value", "metric")]
    return sub.groupby(keys, as_index=False, dropna=False)["value"].mean()
