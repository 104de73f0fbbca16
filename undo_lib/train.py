"""The one training loop: every stage (pretraining, distillation, later unlearning) is this loop with an objective.

AdamW, linear warmup then cosine decay to a minimum learning rate (or a constant rate), gradient clipping,
gradient accumulation, an evaluation callback every `eval_every` steps, a tqdm progress bar, and atomic checkpoints
from which a killed run resumes to the same final metrics. Multi-process (several GPUs, or `--cpu` processes for the
test) through `accelerate launch`: each process takes its share of the rows of every micro-batch.
"""
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import get_constant_schedule_with_warmup, get_cosine_with_min_lr_schedule_with_warmup

from .models import forward, forward_with_internals, readout

SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainCfg:
    steps: int
    batch_size: int          # rows per micro-batch, over all processes together
    grad_accum: int = 1      # micro-batches per optimizer step
    lr: float = 4e-4
    min_lr: float = 4e-5     # end of the cosine decay
    warmup: int = 50
    weight_decay: float = 0.0
    clip: float = 1.0
    schedule: str = "cosine"
    eval_every: int = 50
    checkpoint_every: int = 100

    def __post_init__(self):
        for name in ("steps", "batch_size", "grad_accum", "eval_every", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainCfg.{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("lr", "clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainCfg.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("min_lr", "warmup", "weight_decay"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainCfg.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainCfg.schedule must be one of {SCHEDULES}, got {self.schedule!r}")

    @property
    def rows_per_step(self) -> int:
        return self.batch_size * self.grad_accum


def adamw(params, **kwargs) -> torch.optim.AdamW:
    """AdamW with the fused kernel (one kernel per step for all parameters) where the parameters allow it: float
    tensors on a CPU or a GPU. Same update as the default implementation up to float rounding."""
    params = list(params)
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(params, fused=fused or None, **kwargs)


def make_scheduler(optimizer, cfg: TrainCfg):
    if cfg.schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, cfg.warmup)
    return get_cosine_with_min_lr_schedule_with_warmup(optimizer, cfg.warmup, cfg.steps, min_lr=cfg.min_lr)


def _load_checkpoint(path: Path, model) -> dict | None:
    """The checkpoint at `path` when it exists and fits `model`; a corrupt or foreign one is discarded (with a
    warning) and the stage restarts from its first step."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if set(state["model"]) != set(model.state_dict()) or not {"optimizer", "scheduler", "rows", "step"} <= set(state):
            raise ValueError("its weights or training state do not fit this stage")
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint is only a lost head start
        warnings.warn(f"checkpoint {path} is unreadable ({type(error).__name__}: {error}); discarded, the stage "
                      "restarts from step 0", stacklevel=2)
        path.unlink(missing_ok=True)
        return None
    return state


def _save_checkpoint(path: Path, state: dict):
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")  # per process: two runs never share a temporary file
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill leaves the previous checkpoint or the new one, never half of one


def train(model, objective, batches, cfg: TrainCfg, *, teacher=None, evaluate=None, checkpoint=None,
          desc: str = "train", accelerator: Accelerator | None = None, stop=None, sam_rho: float = 0.0,
          teacher_outputs: dict | None = None) -> pd.DataFrame:
    """Train `model` in place and return its tidy metrics (step, metric, value).

    batches: step -> {"input_ids", "attention_mask"} with cfg.rows_per_step rows (a pure function of step).
    objective: (outputs, batch) -> loss, e.g. an objectives.Objective. With a frozen `teacher`, batch["teacher_logits"]
        holds its logits, or batch["teacher_hidden"] its hidden state when objective.teacher == "hidden"; the model
        runs with output_hidden_states when objective.hidden_layer is set.
    Only parameters with requires_grad are trained (RMU trains a few MLP projections).
    evaluate: model -> {metric: value}, called at step 0, every cfg.eval_every steps and at the end.
    checkpoint: a file path; saved every cfg.checkpoint_every steps and resumed from when it exists.
    stop: {metric: value} -> bool, asked after every evaluation after step 0; True ends training there (UNDO's
        distill-until-recovered). The last logged step is then the number of steps used.
    sam_rho: > 0 makes every step sharpness-aware (Foret et al., 2021): the gradient is taken again at
        theta + rho * g / |g| (g over all micro-batches) and applied at theta. The logged loss is the one at theta.
    teacher_outputs: a dict kept across stages that share the teacher and the batches (UNDO's students):
        (step, micro-batch) -> the teacher's final hidden state [B, T, D], filled on first use; the teacher's logits
        are read out of it (models.readout), so the teacher runs once per batch however many students it teaches.
    """
    acc = accelerator or Accelerator()
    world, rank = acc.num_processes, acc.process_index
    if cfg.batch_size % world:
        raise ValueError(f"TrainCfg.batch_size={cfg.batch_size} must be divisible by the {world} processes")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = adamw(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    fused = optimizer.defaults["fused"]
    scheduler = make_scheduler(optimizer, cfg)  # stepped once per optimizer step, whatever the process count
    model, optimizer = acc.prepare(model, optimizer)
    layer = getattr(objective, "hidden_layer", None)
    wants = getattr(objective, "teacher", None) or "logits"
    if teacher is not None:
        teacher = teacher.to(acc.device).eval().requires_grad_(False)

    def run(net, mb):
        if getattr(objective, "internals", False) and net is model:
            return forward_with_internals(net, acc.unwrap_model(net), mb["input_ids"], mb["attention_mask"])
        return forward(net, mb["input_ids"], mb["attention_mask"], output_hidden_states=layer is not None)

    rows, start = [], 0
    checkpoint = Path(checkpoint) if checkpoint else None
    state = _load_checkpoint(checkpoint, acc.unwrap_model(model)) if checkpoint else None
    if state is not None:
        acc.unwrap_model(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:  # a checkpoint keeps the kernel it was saved with; use this one
            group["fused"] = fused
        scheduler.load_state_dict(state["scheduler"])
        rows, start = state["rows"], state["step"]

    def run_eval(step) -> bool:
        """Evaluate; True when `stop` says training is done."""
        if evaluate is None:
            return False
        model.eval()
        with torch.no_grad():
            metrics = {k: float(v) for k, v in evaluate(acc.unwrap_model(model)).items()}
        rows.extend({"step": step, "metric": k, "value": v} for k, v in metrics.items())
        model.train()
        return step > 0 and stop is not None and bool(stop(metrics))

    def teacher_logits(mb, key):
        if teacher_outputs is None:
            return run(teacher, mb).logits
        if key not in teacher_outputs:
            teacher_outputs[key] = teacher.model(input_ids=mb["input_ids"], attention_mask=mb["attention_mask"]
                                                 ).last_hidden_state
        return readout(teacher, teacher_outputs[key])

    def accumulate(batch, step) -> float:
        """Gradients of the objective over every micro-batch of `batch`, summed into .grad; the mean loss."""
        total = torch.zeros((), device=acc.device)
        for micro in range(cfg.grad_accum):
            lo = micro * cfg.batch_size + rank * (cfg.batch_size // world)
            mb = {k: v[lo: lo + cfg.batch_size // world].to(acc.device) for k, v in batch.items()}
            if teacher is not None:
                with torch.no_grad():
                    if wants == "hidden":
                        mb["teacher_hidden"] = run(teacher, mb).hidden_states[layer + 1]
                    else:
                        mb["teacher_logits"] = teacher_logits(mb, (step, micro))
            loss = objective(run(model, mb), mb)
            if cfg.grad_accum > 1:
                loss = loss / cfg.grad_accum
            acc.backward(loss)
            total += loss.detach()
        return (acc.reduce(total, reduction="mean") if world > 1 else total).item()

    if start == 0:
        run_eval(0)
    model.train()
    bar = tqdm(range(start, cfg.steps), desc=desc, initial=start, total=cfg.steps,
               disable=not acc.is_main_process, leave=False)
    for step in bar:
        batch = batches(step)
        total = accumulate(batch, step)
        if not math.isfinite(total):
            raise FloatingPointError(f"{getattr(objective, '__name__', 'objective')} loss became {total} at step {step} "
                                     f"of {desc!r}; lower the learning rate (lr={cfg.lr})")
        if sam_rho > 0:  # sharpness-aware: take the gradient again at theta + rho * g / |g|, then step from theta
            with torch.no_grad():
                norm = torch.sqrt(sum((p.grad.float() ** 2).sum() for p in trainable if p.grad is not None))
                eps = [None if p.grad is None else p.grad * (sam_rho / (norm + 1e-12)) for p in trainable]
                for p, e in zip(trainable, eps):
                    if e is not None:
                        p.add_(e)
            optimizer.zero_grad(set_to_none=True)
            accumulate(batch, step)
            with torch.no_grad():
                for p, e in zip(trainable, eps):
                    if e is not None:
                        p.sub_(e)
        acc.clip_grad_norm_(trainable, cfg.clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        rows.append({"step": step + 1, "metric": "loss", "value": total})
        if ((step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps) and run_eval(step + 1):
            break
        if step % 10 == 0:
            bar.set_postfix(loss=f"{total:.3f}")
        if checkpoint and (step + 1) % cfg.checkpoint_every == 0 and step + 1 < cfg.steps:
            acc.wait_for_everyone()
            if acc.is_main_process:
                _save_checkpoint(checkpoint, {"model": acc.unwrap_model(model).state_dict(), "step": step + 1,
                                              "optimizer": optimizer.state_dict(), "rows": rows,
                                              "scheduler": scheduler.state_dict()})
    bar.close()
    acc.unwrap_model(model).eval()
    if acc.device.type != "cpu":  # drop the accelerator's references and the device's cache
        acc.free_memory()
    else:  # the same references, without free_memory's gc.collect (0.2 s a stage in cProfile, for nothing here)
        for held in (acc._models, acc._optimizers, acc._schedulers):
            held.clear()
    return pd.DataFrame(rows, columns=["step", "metric", "value"])
