"""Throughput on a GPU, run by hand on a machine that has one:  python benchmarks/bench_gpu.py [--scale gpu]

The GPU counterpart of bench.py. For every stage kind at the scale (as bench.py: pretraining, distillation with its
teacher pass, each unlearning objective, a relearning-attack step, one grading of retain and forget) it prints model
FLOP/s as model FLOP utilization (MFU) against the dense bf16 peak: the one this run measures (an 8192^3 bf16 matmul)
and the card's datasheet figure. Columns: the library's default on a GPU (bf16 autocast, eager), fp32
(UNDO_PRECISION=fp32), and bf16 compiled (UNDO_COMPILE=1; with its first step, the compile). Then one pretraining step
at the paper's model shape (Gemma-2-0.3B with the Gemma vocabulary, Table 2's micro-batch 15 x 256 tokens), whose
data would come from the hub: random tokens stand in, which costs the same. Model FLOPs: torch.utils.flop_counter.
Step times are medians, each step ending in the loss's .item() (a device sync). Output: the figures alone.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import bench  # noqa: E402  (its import silences the library's progress bars)
from undo_lib.models import MODEL_PRESETS, build_model  # noqa: E402
from undo_lib.objectives import cross_entropy  # noqa: E402
from undo_lib.train import TrainCfg, train  # noqa: E402

DATASHEET_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}  # dense, without sparsity


def bf16_peak(n=8192, reps=10) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n ** 3 * reps / (time.perf_counter() - start)


def datasheet() -> float | None:
    name = torch.cuda.get_device_name()
    return next((v for k, v in DATASHEET_BF16.items() if k in name), None)


def env(**flags):
    for k, v in flags.items():
        os.environ[k] = v


def bench_stages(exp, steps, compiled, peak, sheet):
    print(f"\n{exp.setting.name} at scale {exp.scale}: GFLOP per step (per grading); ms per step; MFU against the "
          f"measured bf16 peak (and the datasheet's)")
    print(f"{'stage':<10} {'GFLOP':>7} | {'bf16 ms':>8} {'MFU':>5} {'(sheet)':>7} | {'fp32 ms':>8} | "
          f"{'compiled ms':>11} {'MFU':>5} {'compile s':>9}")
    for name in bench.STAGES:
        env(UNDO_COMPILE="0", UNDO_PRECISION="bf16")
        flops = bench.count_flops(exp, name)
        bf16 = bench.measure(exp, name, steps)[1]
        env(UNDO_PRECISION="fp32")
        fp32 = bench.measure(exp, name, steps)[1]
        env(UNDO_PRECISION="bf16")
        line = (f"{name:<10} {flops / 1e9:7.2f} | {bf16 * 1e3:8.1f} {flops / bf16 / peak:5.1%} "
                f"{'' if sheet is None else f'({flops / bf16 / sheet:.1%})':>7} | {fp32 * 1e3:8.1f} | ")
        if name in compiled:
            env(UNDO_COMPILE="1")
            first, fast = bench.measure(exp, name, steps)
            env(UNDO_COMPILE="0")
            line += f"{fast * 1e3:11.1f} {flops / fast / peak:5.1%} {first - fast:9.1f}"
        else:
            line += f"{'-':>11}"
        print(line, flush=True)


def bench_paper_shape(steps, peak, sheet, micro=15, seq=256, vocab=256_000):
    """One AdamW step of Gemma-2-0.3B on `micro` x `seq` random tokens, through the library's train()."""
    model = build_model(MODEL_PRESETS["gemma-2-0.3b"], vocab, seed=0).cuda()
    ids = torch.randint(0, vocab, (micro, seq), device="cuda")
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "loss_mask": torch.ones_like(ids)}
    cfg = TrainCfg(steps=steps, batch_size=micro, lr=4e-4, warmup=1, eval_every=10 ** 9)

    def timed():
        stamps = []
        train(model, cross_entropy, lambda s: stamps.append(time.perf_counter()) or batch, cfg)
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        return gaps[0], statistics.median(gaps[2:])
    with bench.FlopCounterMode(display=False) as counter:
        train(model, cross_entropy, lambda s: batch, replace(cfg, steps=1))
    flops = counter.get_total_flops()
    n = sum(p.numel() for p in model.parameters())
    print(f"\npaper shape: Gemma-2-0.3B ({n / 1e6:.0f}M parameters, vocabulary {vocab}), micro-batch {micro} x {seq} "
          f"tokens, {flops / 1e12:.2f} TFLOP per step")
    for label, flags in (("bf16 eager", dict(UNDO_COMPILE="0", UNDO_PRECISION="bf16")),
                         ("fp32 eager", dict(UNDO_COMPILE="0", UNDO_PRECISION="fp32")),
                         ("bf16 compiled", dict(UNDO_COMPILE="1", UNDO_PRECISION="bf16"))):
        env(**flags)
        first, step = timed()
        extra = f", first step {first:.1f} s" if flags["UNDO_COMPILE"] == "1" else ""
        print(f"  {label:<13} {step * 1e3:7.1f} ms per step, {micro * seq / step:9.0f} tokens/s, MFU "
              f"{flops / step / peak:5.1%} of the measured peak"
              f"{'' if sheet is None else f' ({flops / step / sheet:.1%} of the datasheet)'}{extra}", flush=True)
    env(UNDO_COMPILE="0", UNDO_PRECISION="bf16")


def profile_paper_shape(micro=15, seq=256, vocab=256_000, steps=4):
    """Where a paper-shape step's GPU time goes: torch.profiler's top kernels, bf16 eager."""
    from torch.profiler import ProfilerActivity, profile
    model = build_model(MODEL_PRESETS["gemma-2-0.3b"], vocab, seed=0).cuda()
    ids = torch.randint(0, vocab, (micro, seq), device="cuda")
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    cfg = TrainCfg(steps=steps, batch_size=micro, lr=4e-4, warmup=1, eval_every=10 ** 9)
    train(model, cross_entropy, lambda s: batch, cfg)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        train(model, cross_entropy, lambda s: batch, cfg)
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25, max_name_column_width=60))
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=12, max_name_column_width=60))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="gpu")
    parser.add_argument("--setting", default="both", choices=("both", "arithmetic", "language", "none"))
    parser.add_argument("--steps", type=int, default=14, help="steps per stage (the first 2 are warm-up)")
    parser.add_argument("--compile", default="pretrain,relearn,evaluate", help="stages also timed compiled")
    parser.add_argument("--paper-steps", type=int, default=12, help="steps at the paper's shape (0: skip)")
    parser.add_argument("--profile", action="store_true", help="only profile a paper-shape step")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_gpu.py needs a CUDA GPU; benchmarks/bench.py measures a CPU")
    if args.profile:
        return profile_paper_shape()
    peak, sheet = bf16_peak(), datasheet()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; bf16 matmul peak (8192^3): "
          f"{peak / 1e12:.0f} TFLOP/s measured, {'unknown' if sheet is None else f'{sheet / 1e12:.0f}'} on the "
          f"datasheet (dense)")
    settings = {"both": ("arithmetic", "language"), "none": ()}.get(args.setting, (args.setting,))
    compiled = [s for s in args.compile.split(",") if s]
    with tempfile.TemporaryDirectory() as store:
        for s in settings:
            bench_stages(bench.experiment(args.scale, s, os.path.join(store, s)), args.steps, compiled, peak, sheet)
    if args.paper_steps:
        bench_paper_shape(args.paper_steps, peak, sheet)
    print(f"\nbf16 matmul peak measured again at the end: {bf16_peak() / 1e12:.0f} TFLOP/s")


if __name__ == "__main__":
    sys.exit(main())
