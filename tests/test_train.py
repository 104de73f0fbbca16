import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from undo_lib.data.mixture import Mixture, TokenStream
from undo_lib.objectives import cross_entropy
from undo_lib.train import TrainCfg, train


def _mixture(vocab):
    """A learnable stream: a period-13 pattern of tokens."""
    return Mixture("t", [(TokenStream("x", torch.arange(4000) % 13 + 4), 1)], seq_len=16)


def _run(model, mix, cfg, **kw):
    return train(model, cross_entropy, lambda s: mix.batch(s, cfg.rows_per_step, 0), cfg, **kw)


def test_loss_decreases_and_metrics_are_tidy(tiny_model, digits_tokenizer):
    cfg = TrainCfg(steps=40, batch_size=8, lr=1e-2, min_lr=1e-3, warmup=5, eval_every=20)
    m = _run(tiny_model, _mixture(len(digits_tokenizer)), cfg, evaluate=lambda model: {"probe": 1.0})
    assert list(m.columns) == ["step", "metric", "value"]
    loss = m[m.metric == "loss"]["value"].to_numpy()
    assert len(loss) == 40 and loss[-5:].mean() < loss[:5].mean() - 0.3
    assert m[m.metric == "probe"]["step"].tolist() == [0, 20, 40]


def test_stop_ends_training_at_the_first_evaluation_that_satisfies_it(tiny_model, digits_tokenizer):
    """Distill-until-recovered: training stops at the first evaluation (after step 0) whose metrics pass."""
    mix = _mixture(len(digits_tokenizer))
    held_out = mix.batch(10_000, 16, 1)

    def evaluate(model):
        return {"ce": float(cross_entropy(model(input_ids=held_out["input_ids"]), held_out))}
    cfg = TrainCfg(steps=200, batch_size=8, lr=1e-2, min_lr=1e-3, warmup=5, eval_every=5)
    m = _run(tiny_model, mix, cfg, evaluate=evaluate, stop=lambda metrics: metrics["ce"] < 2.0)
    ce = m[m.metric == "ce"].set_index("step")["value"]
    assert ce.iloc[0] > 2.0 and ce.iloc[-1] < 2.0 and (ce.iloc[1:-1] >= 2.0).all()
    assert m.step.max() == ce.index[-1] < 200 and m.step.max() % 5 == 0


def test_a_killed_run_resumes_to_the_same_metrics(tiny_model, digits_tokenizer, tmp_path):
    import copy
    mix, ck = _mixture(len(digits_tokenizer)), tmp_path / "ck.pt"
    cfg = TrainCfg(steps=30, batch_size=8, grad_accum=2, lr=1e-2, min_lr=1e-3, warmup=5, eval_every=10,
                   checkpoint_every=10)
    fresh = copy.deepcopy(tiny_model)
    whole = _run(copy.deepcopy(tiny_model), mix, cfg)

    def killer(step):  # the process "dies" while computing step 17
        if step == 17:
            raise KeyboardInterrupt
        return mix.batch(step, cfg.rows_per_step, 0)

    with pytest.raises(KeyboardInterrupt):
        train(copy.deepcopy(fresh), cross_entropy, killer, cfg, checkpoint=ck)
    assert ck.exists() and torch.load(ck, weights_only=True)["step"] == 10
    resumed_model = copy.deepcopy(fresh)
    resumed = _run(resumed_model, mix, cfg, checkpoint=ck)
    pd.testing.assert_frame_equal(resumed, whole, atol=1e-6, rtol=0)


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_a_corrupt_checkpoint_is_discarded_and_the_stage_restarts(tiny_model, digits_tokenizer, tmp_path, damage):
    import copy
    mix, ck = _mixture(len(digits_tokenizer)), tmp_path / "ck.pt"
    cfg = TrainCfg(steps=12, batch_size=8, lr=1e-2, min_lr=1e-3, warmup=2, eval_every=4, checkpoint_every=4)
    whole = _run(copy.deepcopy(tiny_model), mix, cfg)
    if damage == "truncated":
        ck.write_bytes(b"PK\x03\x04 not a whole checkpoint")
    else:
        torch.save({"model": {"other.weight": torch.zeros(1)}, "step": 8}, ck)
    with pytest.warns(UserWarning, match=f"checkpoint {ck} is unreadable.*restarts from step 0"):
        restarted = _run(copy.deepcopy(tiny_model), mix, cfg, checkpoint=ck)
    pd.testing.assert_frame_equal(restarted, whole, atol=1e-6, rtol=0)


def test_nan_loss_stops_the_run_naming_the_objective(tiny_model, digits_tokenizer):
    def broken(outputs, batch):
        return cross_entropy(outputs, batch) * float("nan")
    mix = _mixture(len(digits_tokenizer))
    with pytest.raises(FloatingPointError, match="broken loss became nan at step 0"):
        train(tiny_model, broken, lambda s: mix.batch(s, 8, 0), TrainCfg(steps=3, batch_size=8))


@pytest.mark.parametrize("kw, name", [({"lr": -1e-3}, "lr"), ({"steps": 0}, "steps"), ({"warmup": -1}, "warmup"),
                                      ({"schedule": "linear"}, "schedule"), ({"batch_size": 0}, "batch_size")])
def test_bad_hyperparameters_are_named(kw, name):
    with pytest.raises(ValueError, match=rf"TrainCfg\.{name}"):
        TrainCfg(**{"steps": 10, "batch_size": 4, **kw})


def test_cosine_schedule_warms_up_and_ends_at_min_lr(tiny_model, digits_tokenizer):
    from undo_lib.train import make_scheduler
    cfg = TrainCfg(steps=100, batch_size=4, lr=1e-3, min_lr=1e-4, warmup=10)
    opt = torch.optim.AdamW(tiny_model.parameters(), lr=cfg.lr)
    sched, lrs = make_scheduler(opt, cfg), []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0 and math.isclose(lrs[10], 1e-3, rel_tol=1e-6)
    assert math.isclose(opt.param_groups[0]["lr"], 1e-4, rel_tol=1e-6)


@pytest.mark.slow
def test_two_process_pretraining_matches_one_process(tmp_path):
    """`accelerate launch --num_processes 2 --cpu` follows the single-process loss trajectory."""
    from undo_lib.pipeline import Experiment
    one = Experiment("smoke", "arithmetic", 0, store_root=tmp_path / "one").pretrain("reference").metrics
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2", "--cpu", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "undo_lib.launch", "--scale", "smoke", "--setting", "arithmetic", "--pretrain", "reference",
           "--store", str(tmp_path / "two")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two = Experiment("smoke", "arithmetic", 0, store_root=tmp_path / "two").pretrain("reference").metrics
    a, b = one[one.metric == "loss"]["value"].to_numpy(), two[two.metric == "loss"]["value"].to_numpy()
    assert len(a) == len(b) == 30
    assert abs(a - b).max() < 1e-3 * abs(a).max(), (a, b)


def test_sam_step_matches_a_brute_force_step_over_every_micro_batch(tiny_model, digits_tokenizer):
    """One SAM step with two micro-batches equals: g at theta over the whole batch, eps = rho g/|g|, g' at
    theta + eps over the whole batch, then an AdamW step from theta with g'."""
    import copy
    mix = _mixture(len(digits_tokenizer))
    batch = mix.batch(0, 8, 0)
    cfg = TrainCfg(steps=1, batch_size=4, grad_accum=2, lr=1e-2, min_lr=1e-2, warmup=0, schedule="constant",
                   clip=1e9)
    ref, plain = copy.deepcopy(tiny_model), copy.deepcopy(tiny_model)
    train(tiny_model, cross_entropy, lambda s: batch, cfg, sam_rho=0.05)
    train(plain, cross_entropy, lambda s: batch, cfg)  # the plain step goes elsewhere

    params = [p for p in ref.parameters()]
    loss = cross_entropy(ref(input_ids=batch["input_ids"]), batch)
    grads = torch.autograd.grad(loss, params)
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.add_(0.05 * g / norm)
    grads2 = torch.autograd.grad(cross_entropy(ref(input_ids=batch["input_ids"]), batch), params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(0.05 * g / norm)
        for p, g in zip(params, grads2):
            p.grad = g
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    opt.step()
    for (n, a), b in zip(tiny_model.named_parameters(), params):
        assert torch.allclose(a, b, atol=1e-5), n
    assert not all(torch.allclose(a, b, atol=1e-5) for a, b in zip(tiny_model.parameters(), plain.parameters()))


@pytest.mark.parametrize("name, params", [("rep_noise", {"alpha": 1.0, "beta": 0.1}), ("undial", {"beta": 3.0})])
def test_the_loop_feeds_each_baseline_what_it_needs(tiny_model, digits_tokenizer, name, params):
    """RepNoise gets MLP outputs and logit-lens readouts (hooks gone afterwards); UNDIAL the frozen model's logits."""
    import copy
    from undo_lib.objectives import make_objective
    mix = _mixture(len(digits_tokenizer))

    def batches(step):
        b = mix.batch(step, 8, 0)
        b["forget"] = torch.arange(8) % 2 == 0
        return b
    objective = make_objective(name, **params)
    teacher = copy.deepcopy(tiny_model) if objective.teacher else None
    m = train(tiny_model, objective, batches, TrainCfg(steps=3, batch_size=8, lr=1e-3, warmup=0), teacher=teacher)
    assert m[m.metric == "loss"]["value"].map(math.isfinite).all()
    assert all(not layer.mlp._forward_hooks for layer in tiny_model.model.layers)


def test_students_sharing_teacher_outputs_train_as_if_each_ran_the_teacher(tiny_model, digits_tokenizer):
    """UNDO's students share the teacher's outputs: the second student runs no teacher forward, and both end at the
    weights of students that ran the teacher themselves."""
    import copy
    from undo_lib.objectives import make_objective
    mix, kl = _mixture(len(digits_tokenizer)), make_objective("forward_kl")
    teacher = copy.deepcopy(tiny_model)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    calls = []
    teacher.model.register_forward_hook(lambda *a: calls.append(1))
    cfg = TrainCfg(steps=6, batch_size=4, grad_accum=2, lr=1e-2, warmup=0)

    def student(shared, k):
        s = copy.deepcopy(tiny_model)
        torch.manual_seed(k)
        with torch.no_grad():
            for p in s.parameters():
                p.mul_(0.5)
        train(s, kl, lambda step: mix.batch(step, cfg.rows_per_step, 0), cfg, teacher=teacher, teacher_outputs=shared)
        return s
    plain = [student(None, k) for k in (0, 1)]
    assert len(calls) == 24  # 6 steps x 2 micro-batches, for each student
    shared = {}
    first, second = student(shared, 0), student(shared, 1)
    assert len(calls) == 36 and len(shared) == 12  # the second student ran no teacher forward
    for a, b in zip((first, second), plain):
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.equal(p, q)


def test_adamw_is_fused_and_steps_as_the_default_implementation(tiny_model):
    """train.adamw takes the fused kernel for float CPU parameters; its update equals torch's default AdamW."""
    import copy
    from undo_lib.train import adamw
    a, b = copy.deepcopy(tiny_model), copy.deepcopy(tiny_model)
    fused = adamw(a.parameters(), lr=1e-2, weight_decay=0.1)
    plain = torch.optim.AdamW(b.parameters(), lr=1e-2, weight_decay=0.1)
    assert fused.defaults["fused"] is True and not plain.defaults["fused"]
    ids = torch.randint(0, 40, (4, 16))
    for _ in range(5):
        for model, opt in ((a, fused), (b, plain)):
            model(input_ids=ids, labels=ids).loss.backward()
            opt.step()
            opt.zero_grad()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_compiled_training_reaches_the_eager_metrics(tiny_model, digits_tokenizer, monkeypatch, tmp_path):
    """UNDO_COMPILE=1 changes how fast a stage runs, not where it ends: 30 steps compiled and eager end with
    losses within 1e-3 and weights within 1e-3 of each other (float rounding differs: fused kernels)."""
    import copy
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    mix, cfg = _mixture(len(digits_tokenizer)), TrainCfg(steps=30, batch_size=8, lr=1e-2, min_lr=1e-3, warmup=5,
                                                         eval_every=15)
    held_out = mix.batch(10_000, 16, 1)

    def evaluate(model):
        return {"ce": float(cross_entropy(model(input_ids=held_out["input_ids"]), held_out))}
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("UNDO_COMPILE", flag)
        model = copy.deepcopy(tiny_model)
        runs[flag] = (_run(model, mix, cfg, evaluate=evaluate), model)
    (eager, m_eager), (compiled, m_compiled) = runs["0"], runs["1"]
    assert eager.metric.tolist() == compiled.metric.tolist() and eager.step.tolist() == compiled.step.tolist()
    assert (eager.value - compiled.value).abs().max() < 1e-3
    assert eager[eager.metric == "ce"].value.iloc[-1] < eager[eager.metric == "ce"].value.iloc[0] - 0.5
    for pa, pb in zip(m_eager.parameters(), m_compiled.parameters()):
        torch.testing.assert_close(pa, pb, atol=1e-3, rtol=1e-3)
