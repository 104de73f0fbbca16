import numpy as np
import pandas as pd
import pytest
import torch

from undo_lib.attack import AttackCfg, best_rates, lr_at, mean_across_lrs, relearn_attack, relearn_sweep_batched, \
    relearn_sweep_sequential, worst_case
from undo_lib.data import arithmetic
from undo_lib.data.mixture import Mixture, problems_stream
from undo_lib.evaluate import Evaluator, answer_batch


@pytest.fixture
def setup(digits_tokenizer):
    stream = problems_stream("mul", arithmetic.problems(["mul"], 300, "train", 0.0, 0), digits_tokenizer)
    mix = Mixture("attack", [(stream, 1)], seq_len=24)
    ev = Evaluator("accuracy", {"retain": answer_batch(arithmetic.problems(["add"], 16, "test", 0.0, 0), digits_tokenizer),
                                "forget": answer_batch(arithmetic.problems(["mul"], 16, "test", 0.0, 0), digits_tokenizer)})
    return (lambda step: mix.batch(step, 8, 0)), ev


def test_batched_sweep_equals_sequential_sweep(tiny_model, setup):
    batches, _ = setup
    ev = Evaluator("cross_entropy", {"forget": batches(999)})  # a continuous metric shows any drift
    cfg = AttackCfg(steps=12, lrs=(3e-3, 1e-3, 1e-4), batch_size=8, eval_every=4, warmup=3, clip=0.5)
    fast_items, slow_items = {}, {}
    fast = relearn_sweep_batched(tiny_model, batches, ev, cfg, items=fast_items)
    slow = relearn_sweep_sequential(tiny_model, batches, ev, cfg, items=slow_items)
    assert set(fast_items) == set(slow_items) == {(lr, step, "forget") for lr in cfg.lrs for step in (0, 4, 8, 12)}
    for key, scores in slow_items.items():  # per-item grades: the same in both paths, averaging to the curve
        assert scores.shape == (8,) and np.allclose(scores, fast_items[key], atol=5e-4)
        row = slow[(slow.lr == key[0]) & (slow.step == key[1]) & (slow.metric == key[2])]
        assert abs(scores.mean() - row.value.item()) < 1e-5  # full windows: the row means average to the token mean
    key = ["lr", "step", "metric"]
    merged = fast.merge(slow, on=key, suffixes=("_batched", "_sequential"))
    assert len(merged) == len(fast) == len(slow) == 3 * 4
    assert (merged.value_batched - merged.value_sequential).abs().max() < 2e-4
    first, last = merged[merged.step == 0], merged[merged.step == 12]
    assert first.value_batched.nunique() == 1  # every rate starts from the same model
    assert last.value_batched.max() - last.value_batched.min() > 0.01  # and the rates really differ


def test_relearn_attack_is_tidy_and_leaves_the_model_untouched(tiny_model, setup):
    batches, ev = setup
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    curves = relearn_attack({"A": tiny_model}, batches, ev, AttackCfg(steps=5, lrs=(1e-3, 1e-4), batch_size=8,
                                                                       eval_every=5))
    assert list(curves.columns) == ["model", "lr", "step", "metric", "value"]
    assert len(curves) == 2 * 2 * 2  # lrs x steps {0, 5} x metrics
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())


def test_worst_case_is_the_attackers_best_learning_rate():
    curves = pd.DataFrame({"model": ["m"] * 6, "lr": [1, 2, 3] * 2, "step": [0, 0, 0, 5, 5, 5],
                           "metric": ["forget"] * 6, "value": [0.1, 0.3, 0.2, 0.9, 0.4, 0.5]})
    acc = worst_case(curves, higher_is_better=True)
    assert acc.value.tolist() == [0.3, 0.9] and acc.lr.tolist() == [2, 1]
    loss = worst_case(curves, higher_is_better=False)
    assert loss.value.tolist() == [0.1, 0.4] and loss.lr.tolist() == [1, 2]
    assert mean_across_lrs(curves).value.round(6).tolist() == [0.2, 0.6]


def test_warmup_and_bad_attack_config():
    assert lr_at(1e-3, 0, 1) == 1e-3 and lr_at(1e-3, 0, 4) == 2.5e-4 and lr_at(1e-3, 9, 4) == 1e-3
    with pytest.raises(ValueError, match="lrs"):
        AttackCfg(steps=5, lrs=(1e-3, -1.0), batch_size=4)


def test_best_rates_flag_an_adversary_limited_by_its_grid():
    rows = [{"model": m, "lr": lr, "step": step, "metric": "forget", "value": v}
            for m, best in (("A", 1e-3), ("B", 1e-2)) for lr in (1e-4, 1e-3, 1e-2) for step, v in
            ((0, 0.0), (10, 0.9 if lr == best else 0.1))]
    best = best_rates(pd.DataFrame(rows), higher_is_better=True).set_index("model")
    assert best.loc["A", "best_lr"] == 1e-3 and not best.loc["A", "at_edge"]
    assert best.loc["B", "best_lr"] == 1e-2 and best.loc["B", "at_edge"]
    assert best.loc["A", "edge_gain"] == 0 and abs(best.loc["B", "edge_gain"] - 0.8) < 1e-9
    low = best_rates(pd.DataFrame(rows), higher_is_better=False).set_index("model")  # as losses: the lowest wins
    assert low.loc["A", "best_lr"] == 1e-4 and low.loc["A", "at_edge"]


def test_committed_attacks_put_every_best_rate_inside_the_grid():
    """In every committed attack table of results/cpu, each model's best rate at the last step is interior, or an
    edge wins by less than the evaluation's resolution (0.02 accuracy or 0.02 nats): the adversary is as strong
    as the grid allows. Where several adversaries attack (Section 6), the attacker's: the rates of the adversary
    that does best at the last step."""
    from undo_lib import repo_path
    from undo_lib.settings import HIGHER_IS_BETTER, SETTINGS
    from undo_lib.wmdp_claims import strongest_adversary
    checked = 0
    for path in sorted(repo_path("results", "cpu").glob("*_relearning.csv")):
        curves = pd.read_csv(path)
        for (setting, seed), g in curves.groupby(["setting", "seed"]):
            higher = HIGHER_IS_BETTER[SETTINGS[setting].metric]
            g = g.drop(columns=["setting", "seed", "scale", "key"], errors="ignore")
            if "adversary" in g:
                g = strongest_adversary(g, higher)
            best = best_rates(g, higher)
            checked += len(best)
            limited = best[best.edge_gain >= 0.02]
            assert limited.empty, f"{path.name} {setting} seed {seed}: best rate at an edge\n{limited}"
    assert checked >= 30, f"only {checked} attacked models found in results/cpu"
