"""Throughput of every stage kind, run by hand:  python benchmarks/bench.py [--scale cpu] [--setting both]

For each stage kind at the scale (pretraining, distillation with its teacher pass, each unlearning objective, a
relearning-attack step, evaluation) it prints model FLOP/s as a share of the fp32 matmul peak that this run measures
(a 2048 x 2048 matmul, at the process's threads and at one thread):
- eager: the library's path (train(), fused AdamW) with UNDO_COMPILE=0, one process at all threads;
- compiled: the same with UNDO_COMPILE=1, the notebooks' default (every stage unless --compile names fewer),
  with its first step's time (the compile) and the steps after which compiling pays;
- matmul bound: the rate if nothing but the step's matrix multiplies took time (torch.profiler), the ceiling
  without faster matmul kernels;
- pool: one process per core at one thread each, running the stage side by side (runner.run's layout), the
  machine's total against the all-threads peak; eager in the table, compiled in the line under it.
Model FLOPs are counted by torch.utils.flop_counter on one step: 6 x parameters x tokens + attention for a plain
step, plus the teacher's forward where there is one (SAM's second pass counted too). Step times are medians.
Then the relearning attack's learning-rate sweep (the library's default against K sequential eager runs, and the
vmapped batched path), two models' sweeps in runner.run's worker pool (as the notebooks attack their models; eager and
compiled, compile time shown) against the same runs sequential and eager, the training loop against a bare loop doing
the same work, and teacher-forced grading against generate(). Stages start from random weights (speed does not
depend on them); nothing is stored: the store and inductor's cache are temporary folders, so compile times are from
an empty cache (--warm: the store's).
--parts picks what to measure (default: all of it).
"""
import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import replace

warnings.filterwarnings("ignore")
if "--warm" not in sys.argv:  # before torch's libraries fix the directory
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-inductor-")
import torch  # noqa: E402
import tqdm.auto  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from undo_lib.attack import ADAM_BETAS, ADAM_EPS, lr_at, relearn_sweep_batched, relearn_sweep_sequential  # noqa: E402
from undo_lib.evaluate import exact_match, model_forward  # noqa: E402
from undo_lib.objectives import cross_entropy  # noqa: E402
from undo_lib.execute import stage_inputs  # noqa: E402
from undo_lib.methods import method  # noqa: E402
from undo_lib.pipeline import Experiment  # noqa: E402
from undo_lib import runner  # noqa: E402
from undo_lib.runner import Job  # noqa: E402
from undo_lib.stages import From  # noqa: E402
from undo_lib.train import TrainCfg, adamw, make_scheduler, train  # noqa: E402


def _silent_tqdm(*args, **kwargs):  # the figures alone: no progress bars from the library
    return tqdm.auto.tqdm(*args, **{**kwargs, "disable": True})


for _module in ("undo_lib.train", "undo_lib.attack", "undo_lib.runner"):
    sys.modules[_module].tqdm = _silent_tqdm

PARTS = ("stages", "sweep", "pool-sweep", "loop", "grading")
MATMULS = ("aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm")
STAGES = ("pretrain", "distill", "grad_diff", "max_ent", "rmu", "npo", "simnpo", "sam", "rep_noise", "undial", "relearn",
          "evaluate")


def matmul_peak(n=2048, reps=25) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / min(times)


def experiment(scale, setting, store) -> Experiment:
    """The experiment, with a randomly initialized reference in its store under the reference's key."""
    exp = Experiment(scale, setting, 0, store_root=store)
    spec = exp.pretrain_spec("reference")
    if not exp.store.find("pretrain", spec.config()):
        exp.store.begin("pretrain", spec.config())
        model = stage_inputs(spec, exp.setting, exp.store).model
        exp.store.finish("pretrain", spec.config(), model=model, metrics=None)
    return exp


def stage_spec(exp, name):
    reference = exp.pretrain("reference")
    if name == "pretrain":
        return exp.pretrain_spec("reference")
    if name == "distill":
        return exp.distill_spec(reference)
    if name == "relearn":  # one step of the attack: cross-entropy on its mixture, at its batch size
        a = exp.preset.attack
        cfg = TrainCfg(steps=a.steps, batch_size=a.batch_size, lr=a.lrs[0], warmup=a.warmup, schedule="constant")
        return exp._spec("pretrain", "cross_entropy", "attack", cfg, From(reference))
    swept = method(name).group != "baseline"
    return exp.unlearn_spec(name, method(name if swept else "max_ent").sweep(exp.scale, exp.setting.name)[0])


def run_stage(exp, name, steps, barrier_at=None, barrier=None):
    """(seconds of step 0, median seconds of the steps after warm-up) of `steps` steps of train() for stage `name`."""
    stage = stage_inputs(stage_spec(exp, name), exp.setting, exp.store)
    cfg = replace(stage.cfg, steps=steps, eval_every=10 ** 9, checkpoint_every=10 ** 9)
    stamps = []

    def batches(step):
        if barrier is not None and step == barrier_at:
            barrier.wait()
        stamps.append(time.perf_counter())
        return stage.batches(step)
    train(stage.model, stage.objective, batches, cfg, teacher=stage.teacher, sam_rho=stage.sam_rho)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])] or [float("nan")]  # step s: its batch to the next one's
    return gaps[0], statistics.median(gaps[(barrier_at or 2):] or gaps)


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def grade_once(exp, model):
    exp.evaluator.grade(model_forward(model), device())
    if device() == "cuda":
        torch.cuda.synchronize()


def run_evaluate(exp, calls):
    model = exp.pretrain("reference").model().to(device())
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        grade_once(exp, model)
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:])


def measure(exp, name, steps):
    return run_evaluate(exp, max(3, steps // 3)) if name == "evaluate" else run_stage(exp, name, steps)


def count_flops(exp, name) -> float:
    with FlopCounterMode(display=False) as counter:
        if name == "evaluate":
            grade_once(exp, exp.pretrain("reference").model().to(device()))
        else:
            run_stage(exp, name, 1)
    return counter.get_total_flops()


def matmul_seconds(exp, name, steps=3) -> float:
    """Seconds per step (or per evaluation) spent in matrix multiplies, eager."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        if name == "evaluate":
            run_evaluate(exp, steps + 1)
        else:
            run_stage(exp, name, steps)
    total = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMULS) / 1e6
    return total / (steps + 1 if name == "evaluate" else steps)


def _pool_worker(scale, setting, store, names, steps, barrier, queue):
    torch.set_num_threads(1)
    exp = experiment(scale, setting, store)
    for name in names:
        if name == "evaluate":
            barrier.wait()
            queue.put((name, run_evaluate(exp, max(3, steps // 3))[1]))
        else:
            queue.put((name, run_stage(exp, name, steps + 2, barrier_at=2, barrier=barrier)[1]))


def pool_seconds(scale, setting, store, names, steps) -> dict:
    """{stage: median step seconds} with one process per core, one thread each, all running the stage at once."""
    n = os.cpu_count() or 1
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_pool_worker, args=(scale, setting, store, names, steps, barrier, queue))
             for _ in range(n)]
    for p in procs:
        p.start()
    out = {}
    for _ in range(n * len(names)):
        name, seconds = queue.get()
        out[name] = max(out.get(name, 0.0), seconds)  # the pool is as fast as its slowest process
    for p in procs:
        p.join()
    return out


def with_compile(flag: str):
    os.environ["UNDO_COMPILE"] = flag


def share(flops, seconds_fn):
    """(seconds, share of the peak): `seconds_fn()` timed against a peak measured just before and just after it
    (this machine's speed drifts by tens of percent over minutes; a local peak takes the drift out)."""
    before = matmul_peak(reps=7)
    seconds = seconds_fn()
    local = (before + matmul_peak(reps=7)) / 2
    return seconds, flops / seconds / local


def bench_stages(exp, args, peak1):
    print(f"\n{exp.setting.name}: model GFLOP per step (per evaluation of retain + forget); ms per step; share of the "
          f"fp32 matmul peak measured around each timing")
    print(f"{'stage':<10} {'GFLOP':>6} | {'eager ms':>10} {'%peak':>6} | {'compiled ms':>11} {'%peak':>6} "
          f"{'compile s':>9} {'pays after':>10} | {'matmul bound':>12} | {'pool %peak':>10}")
    compiled = [s for s in args.compile.split(",") if s]
    n = os.cpu_count() or 1
    pool, flops_of = {}, {}
    if args.pool:
        pool = pool_seconds(exp.scale, exp.setting.name, str(exp.store.root), STAGES, args.steps)
        pool_peak = matmul_peak()
    for name in STAGES:
        flops = flops_of[name] = count_flops(exp, name)
        eager, eager_share = share(flops, lambda: measure(exp, name, args.steps)[1])
        line = f"{name:<10} {flops / 1e9:6.2f} | {eager * 1e3:10.1f} {eager_share:6.0%} | "
        if name in compiled:  # compiled (its first step compiles), eager again (default: the mean of two
            # timings), compiled again (its share; the first compiled timing gives the compile time)
            with_compile("1")
            first, fast = measure(exp, name, args.steps)
            with_compile("0")
            eager2, eager_share2 = share(flops, lambda: measure(exp, name, args.steps)[1])
            with_compile("1")
            fast2, fast_share = share(flops, lambda: measure(exp, name, args.steps)[1])
            with_compile("0")
            eager_share, fast_share = (eager_share + eager_share2) / 2, fast_share
            line = f"{name:<10} {flops / 1e9:6.2f} | {(eager + eager2) / 2 * 1e3:10.1f} {eager_share:6.0%} | "
            gain = flops / eager_share - flops / fast_share  # seconds a step saves, at a common peak of 1 FLOP/s
            saved = gain / (flops / fast_share) * fast2     # ... in this machine's seconds
            pays = f"{(first - fast) / saved:10.0f}" if saved > 0 else f"{'never':>10}"
            line += f"{fast2 * 1e3:11.1f} {fast_share:6.0%} {first - fast:9.1f} {pays} | "
        else:
            line += f"{'-':>11} {'':>6} {'':>9} {'':>10} | "
        _, bound = share(flops, lambda: matmul_seconds(exp, name))
        line += f"{bound:12.0%} | "
        line += f"{n * flops / pool[name] / pool_peak:10.0%}" if name in pool else f"{'-':>10}"
        print(line, flush=True)
    if args.pool and compiled:  # after the rows, so that their compile times are from an empty cache
        with_compile("1")
        fast = pool_seconds(exp.scale, exp.setting.name, str(exp.store.root), compiled, args.steps)
        with_compile("0")
        fast_peak = matmul_peak()
        shares = (f"{name} {n * flops_of[name] / fast[name] / fast_peak:.0%}" for name in compiled)
        print(f"pool compiled %peak (the notebooks' default): {', '.join(shares)}")
    print(f"(pool: {n} processes x 1 thread against the {n}-thread peak, eager in the table; one process alone at 1 "
          f"thread would have a peak of {peak1 / 1e9:.0f} GFLOP/s; 'pays after': steps, or evaluations, after which "
          f"the compile time is won back)")


def sweep_eager(model, batches, evaluator, cfg, later):
    """K sequential eager runs, as the library ran them before: deep copies, torch.optim.AdamW's default path."""
    for lr in cfg.lrs:
        m = copy.deepcopy(model).train()
        opt = torch.optim.AdamW(m.parameters(), lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=0.0)
        for step in range(cfg.steps + 1):
            if step % cfg.eval_every == 0 or step == cfg.steps:
                m.eval()
                (evaluator if step == 0 else later).grade(model_forward(m))
                m.train()
            if step == cfg.steps:
                break
            b = batches(step)
            cross_entropy(m(input_ids=b["input_ids"], attention_mask=b["attention_mask"]), b).backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), cfg.clip)
            for group in opt.param_groups:
                group["lr"] = lr_at(lr, step, cfg.warmup)
            opt.step()
            opt.zero_grad(set_to_none=True)


def sweep_inputs(exp):
    """(cfg, batches, model, later) of the bench's sweep: the preset's attack on the reference, forget graded."""
    cfg, mix = exp.preset.attack, exp.setting.mixture("attack")
    batches = lambda s: mix.batch(s, cfg.batch_size, 0)  # noqa: E731
    return cfg, batches, exp.pretrain("reference").model(), exp.evaluator.only("forget")


def bench_sweep(exp, rounds):
    cfg, batches, model, later = sweep_inputs(exp)
    runs = {"K sequential eager": lambda: sweep_eager(model, batches, exp.evaluator, cfg, later),
            "default": lambda: relearn_sweep_sequential(model, batches, exp.evaluator, cfg, later=later),
            "vmapped": lambda: relearn_sweep_batched(model, batches, exp.evaluator, cfg, later=later),
            "compiled": lambda: relearn_sweep_sequential(model, batches, exp.evaluator, cfg, later=later)}
    exp.evaluator._memo.clear()
    with FlopCounterMode(display=False) as counter:
        runs["default"]()
    flops = counter.get_total_flops()
    ratios, times, first_compiled = {k: [] for k in runs}, {k: [] for k in runs}, None
    for r in range(rounds + 1):  # round 0: the compiled sweep's first run, compiling
        for k, fn in runs.items():
            if r == 0 and k != "compiled":
                continue
            exp.evaluator._memo.clear()
            later._memo.clear()
            with_compile("1" if k == "compiled" else "0")
            start = time.perf_counter()
            fn()
            seconds = time.perf_counter() - start
            with_compile("0")
            if r == 0:
                first_compiled = seconds
            else:
                times[k].append(seconds)
        if r > 0:
            for k in runs:
                ratios[k].append(times["K sequential eager"][-1] / times[k][-1])
    _, eager_share = share(flops, lambda: statistics.median(times["K sequential eager"]))
    parts = ", ".join(f"{k} {statistics.median(times[k]):.1f} s ({statistics.median(ratios[k]):.2f}x)"
                      for k in runs)
    print(f"{exp.setting.name} sweep, K={len(cfg.lrs)} x {cfg.steps} steps, forget graded every {cfg.eval_every}, "
          f"{flops / 1e12:.2f} TFLOP (speed-up: median over {rounds} rounds of each round's ratio): {parts}; the "
          f"compiled sweep's first run (its graphs compiled by the stage rows): {first_compiled:.1f} s. K sequential "
          f"eager runs at ~{eager_share:.0%} of the peak: 1.5x would need {1.5 * eager_share:.0%}")


def _sweep_job(job):
    """A runner job: one model's sweep (bench_sweep's), in a worker process, compiled when job.spec is "1"."""
    with_compile(job.spec)
    exp = experiment(*job.experiment)
    cfg, batches, model, later = sweep_inputs(exp)
    relearn_sweep_sequential(model, batches, exp.evaluator, cfg, later=later)


def bench_sweep_pool(exp, rounds, store):
    """Two models' sweeps as the notebooks run their attacks: runner.run's pool (one process per core, one thread
    each), eager and compiled, against the same 2 x K runs sequential and eager at all threads. Round 0 is the
    pool's first compiled run: fresh workers compiling from the bench's empty inductor cache (counted, shown)."""
    cfg, batches, model, later = sweep_inputs(exp)
    jobs = lambda flag, r: [Job((exp.scale, exp.setting.name, store), flag, f"{flag}-{r}-{i}", "sweep")  # noqa
                            for i in range(2)]
    runs = {"2 x K sequential eager": lambda r: [sweep_eager(model, batches, exp.evaluator, cfg, later)
                                                 for _ in range(2)],
            "pool": lambda r: runner.run(jobs("0", r), _sweep_job),
            "pool compiled": lambda r: runner.run(jobs("1", r), _sweep_job)}
    times = {k: [] for k in runs}
    for r in range(rounds + 1):
        for k, fn in runs.items():
            if r == 0 and k != "pool compiled":
                continue
            start = time.perf_counter()
            fn(r)
            times[k].append(time.perf_counter() - start)
    runner._stop_pool()
    first = times["pool compiled"].pop(0)
    base = statistics.median(times["2 x K sequential eager"])
    parts = ", ".join(f"{k} {statistics.median(v):.1f} s ({base / statistics.median(v):.2f}x)"
                      for k, v in times.items())
    print(f"{exp.setting.name} sweep of 2 models in the worker pool ({runner.workers()} processes x 1 thread), "
          f"K={len(cfg.lrs)} x {cfg.steps} steps each (median of {rounds} rounds): {parts}; the pool's first "
          f"compiled run, its workers compiling from an empty cache: {first:.1f} s ({base / first:.2f}x)")


def bench_loop(exp, steps, rounds):
    """train() against a bare loop doing the same work (fused AdamW, cosine schedule, clipping): median step times,
    each step timed from its batch to the next (the same stamps for both), rounds alternating."""
    stage = stage_inputs(exp.pretrain_spec("reference"), exp.setting, exp.store)
    cfg = replace(stage.cfg, steps=steps, eval_every=10 ** 9, checkpoint_every=10 ** 9)
    batches = [stage.batches(s) for s in range(steps)]

    def ours(stamp):
        m = copy.deepcopy(stage.model)
        train(m, stage.objective, lambda s: stamp() or batches[s], cfg)
        return m

    def bare(stamp):
        m = copy.deepcopy(stage.model).train()
        opt = adamw(m.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = make_scheduler(opt, cfg)
        for b in batches:
            stamp()
            cross_entropy(m(input_ids=b["input_ids"], attention_mask=b["attention_mask"]), b).backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), cfg.clip)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
        return m
    ratios, models = {"step": [], "call": []}, {}
    for r in range(rounds):  # ABBA order: a slow drift of the machine's speed cancels
        step, call = {}, {}
        for name, fn in ((("ours", ours), ("bare", bare)) if r % 2 == 0 else (("bare", bare), ("ours", ours))):
            stamps = []
            start = time.perf_counter()
            models[name] = fn(lambda: stamps.append(time.perf_counter()))
            call[name] = time.perf_counter() - start
            step[name] = statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:]))
        ratios["step"].append(step["ours"] / step["bare"])
        ratios["call"].append(call["ours"] / call["bare"])
    same = all(torch.allclose(a, b, atol=1e-6) for a, b in zip(models["ours"].parameters(),
                                                               models["bare"].parameters()))
    q = {k: statistics.quantiles(v, n=4) for k, v in ratios.items()}
    print(f"{exp.setting.name} training loop, {steps} steps x {rounds} rounds: undo_lib / bare loop = "
          f"{q['step'][1]:.3f} per step (quartiles {q['step'][0]:.3f}-{q['step'][2]:.3f}), {q['call'][1]:.3f} per "
          f"call with set-up ({q['call'][0]:.3f}-{q['call'][2]:.3f}); same weights after: {same}")


def bench_accuracy(exp, n):
    """On the trained seed-0 reference of the default store when there is one (random weights answer nothing)."""
    stored = Experiment(exp.scale, "arithmetic", 0)
    trained = stored.store.find("pretrain", stored.pretrain_spec("reference").config())
    model = (trained or exp.pretrain("reference")).model().eval()
    tok, batch = exp.tokenizer, {k: v[:n] for k, v in exp.evaluator.sets["forget"].items()}
    start = time.perf_counter()
    with torch.no_grad():
        fast = exact_match(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits, batch)
    t_fast, start = time.perf_counter() - start, time.perf_counter()
    slow = []
    for ids, ans in zip(batch["input_ids"], batch["answer_mask"]):
        prompt = ids[: int(ans.nonzero()[0])][None]
        want = ids[ans].tolist()
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=len(want),
                             do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        slow.append(out[0, prompt.shape[1]:].tolist()[: len(want)] == want)
    t_slow = time.perf_counter() - start
    agree = (fast == torch.tensor(slow)).float().mean()
    print(f"arithmetic grading of {n} mul/div prompts ({'the stored reference' if trained else 'random weights'}): "
          f"teacher-forced {t_fast:.3f} s vs generate() {t_slow:.2f} s = {t_slow / t_fast:.0f}x faster; accuracy "
          f"{fast.float().mean():.4f} vs {torch.tensor(slow).float().mean():.4f}, per-prompt agreement {agree:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--setting", default="both", choices=("both", "arithmetic", "language"))
    parser.add_argument("--steps", type=int, default=14, help="steps per stage (the first 2 are warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the sweep and loop comparisons")
    parser.add_argument("--compile", default=",".join(STAGES),
                        help="stages also measured with UNDO_COMPILE=1, the default (comma-separated; '' for none)")
    parser.add_argument("--no-pool", dest="pool", action="store_false", help="skip the worker-pool column")
    parser.add_argument("--warm", action="store_true", help="compile into the store's inductor cache, not an empty one")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"what to measure (comma-separated: {', '.join(PARTS)})")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if set(parts) - set(PARTS):
        parser.error(f"--parts takes {', '.join(PARTS)}; got {args.parts!r}")
    with_compile("0")
    settings = ("arithmetic", "language") if args.setting == "both" else (args.setting,)
    peak = matmul_peak()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    peak1 = matmul_peak()
    torch.set_num_threads(threads)
    print(f"scale {args.scale}, torch {torch.__version__}, {threads} threads, {os.cpu_count()} cores; fp32 matmul "
          f"peak (2048 x 2048): {peak / 1e9:.0f} GFLOP/s at {threads} threads, {peak1 / 1e9:.0f} at 1 thread")
    with tempfile.TemporaryDirectory() as store:
        exps = {s: experiment(args.scale, s, os.path.join(store, s)) for s in settings}
        if "stages" in parts:
            for exp in exps.values():
                bench_stages(exp, args, peak1)
        print()
        if "sweep" in parts:
            for exp in exps.values():
                bench_sweep(exp, args.rounds)
        if "pool-sweep" in parts:
            for setting, exp in exps.items():
                bench_sweep_pool(exp, args.rounds, os.path.join(store, setting))
        if "loop" in parts:
            for exp in exps.values():
                bench_loop(exp, 12, 4 * args.rounds)
        if "arithmetic" in exps and "grading" in parts:
            bench_accuracy(exps["arithmetic"], 256)
    print(f"fp32 matmul peak measured again at the end: {matmul_peak() / 1e9:.0f} GFLOP/s at {threads} threads "
          f"(the shares above use the one at the start)")


if __name__ == "__main__":
    sys.exit(main())
