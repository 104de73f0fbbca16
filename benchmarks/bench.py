"""Benchmarks, run by hand:  python benchmarks/bench.py [--scale cpu]

Prints, each measured in this one run:
1. teacher-forced exact match vs greedy generate() per prompt: same accuracy? speed-up;
2. the batched learning-rate sweep vs K sequential runs of the relearning attack: speed-up;
3. undo_lib's training loop vs a bare PyTorch loop on the same model and batches: overhead.
It uses the scale's cached arithmetic reference model (training it first if needed).
"""
import argparse
import copy
import time

import torch

from undo_lib.attack import AttackCfg, relearn_sweep_batched, relearn_sweep_sequential
from undo_lib.evaluate import exact_match
from undo_lib.objectives import cross_entropy
from undo_lib.pipeline import Experiment
from undo_lib.train import TrainCfg, train


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_accuracy(exp, model, n):
    tok, batch = exp.tokenizer, {k: v[:n] for k, v in exp.evaluator.sets["forget"].items()}
    fast, t_fast = timed(lambda: exact_match(model(input_ids=batch["input_ids"],
                                                    attention_mask=batch["attention_mask"]).logits, batch))

    def greedy():
        right = []
        for ids, mask, ans in zip(batch["input_ids"], batch["attention_mask"], batch["answer_mask"]):
            prompt = ids[: int(ans.nonzero()[0])][None]
            want = ids[ans].tolist()
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=len(want),
                                 do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            right.append(out[0, prompt.shape[1]:].tolist()[: len(want)] == want)
        return torch.tensor(right)
    slow, t_slow = timed(greedy)
    print(f"1. accuracy on {n} mul/div prompts: teacher-forced {fast.float().mean():.4f} vs generate() "
          f"{slow.float().mean():.4f} (per-prompt agreement {(fast == slow).float().mean():.4f}); "
          f"{t_fast:.3f} s vs {t_slow:.2f} s = {t_slow / t_fast:.0f}x faster")


def bench_sweep(exp, model, steps):
    cfg = AttackCfg(steps=steps, lrs=exp.preset.attack.lrs, batch_size=exp.preset.attack.batch_size,
                    eval_every=steps)
    mix = exp.mixture("attack")
    batches = lambda s: mix.batch(s, cfg.batch_size, 0)  # noqa: E731
    fast, t_fast = timed(lambda: relearn_sweep_batched(model, batches, exp.evaluator, cfg))
    slow, t_slow = timed(lambda: relearn_sweep_sequential(model, batches, exp.evaluator, cfg))
    diff = (fast.sort_values(["lr", "step", "metric"]).value.to_numpy()
            - slow.sort_values(["lr", "step", "metric"]).value.to_numpy())
    print(f"2. relearning sweep, K={len(cfg.lrs)} learning rates x {steps} steps: batched {t_fast:.1f} s vs "
          f"sequential {t_slow:.1f} s = {t_slow / t_fast:.2f}x (max metric difference {abs(diff).max():.1e})")


def bench_loop(exp, model, steps):
    cfg = TrainCfg(steps=steps, batch_size=exp.preset.pretrain.batch_size, lr=1e-4, warmup=0, min_lr=1e-4,
                   eval_every=10 ** 9, checkpoint_every=10 ** 9)
    mix = exp.mixture("reference")
    batches = [mix.batch(s, cfg.rows_per_step, 0) for s in range(steps)]
    ours, bare_model = copy.deepcopy(model).train(), copy.deepcopy(model).train()
    _, t_ours = timed(lambda: train(ours, cross_entropy, lambda s: batches[s], cfg))

    def bare():
        opt = torch.optim.AdamW(bare_model.parameters(), lr=1e-4, weight_decay=0.0)
        for b in batches:
            loss = cross_entropy(bare_model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]), b)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(bare_model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
    _, t_bare = timed(bare)
    same = all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours.parameters(), bare_model.parameters()))
    print(f"3. training loop, {steps} steps: undo_lib {t_ours:.1f} s vs bare PyTorch {t_bare:.1f} s = "
          f"{t_ours / t_bare:.2f}x (same weights after: {same})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    exp = Experiment(args.scale, "arithmetic", 0)
    model = exp.pretrain("reference").model().eval()
    print(f"scale {args.scale}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    with torch.no_grad():
        bench_accuracy(exp, model, args.prompts)
    bench_sweep(exp, model, args.steps)
    bench_loop(exp, model, args.steps)


if __name__ == "__main__":
    main()
