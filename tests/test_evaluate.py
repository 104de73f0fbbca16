"""Teacher-forced exact match equals greedy generation, checked on a trained tiny model."""
import pytest
import torch

from undo_lib.data import arithmetic
from undo_lib.data.mixture import problems_stream
from undo_lib.evaluate import Evaluator, answer_batch, exact_match, token_nll
from undo_lib.objectives import cross_entropy
from undo_lib.train import TrainCfg, train


@pytest.fixture(scope="module")
def memorizer(digits_tokenizer):
    """A tiny model trained to memorize 24 equations; it gets those right and most others wrong."""
    from tests.conftest import TINY
    from undo_lib.models import build_model
    model = build_model(TINY, len(digits_tokenizer), seed=0, tokenizer=digits_tokenizer)
    seen = arithmetic.problems(["add"], 24, "train", 0.0, seed=1)
    batch = answer_batch(seen, digits_tokenizer)
    train(model, cross_entropy, lambda step: batch, TrainCfg(steps=150, batch_size=24, lr=1e-2, min_lr=1e-3, warmup=5,
                                                             eval_every=1000))
    unseen = arithmetic.problems(["add", "sub"], 24, "test", 0.0, seed=2)
    return model, seen + unseen


def _greedy(model, tokenizer, prompt, max_new_tokens=6):
    ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer(prompt, add_special_tokens=False)["input_ids"]]])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


def test_teacher_forced_exact_match_equals_greedy_generation(memorizer, digits_tokenizer):
    model, problems = memorizer
    batch = answer_batch(problems, digits_tokenizer)
    with torch.no_grad():
        fast = exact_match(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits, batch)
    slow = []
    for prompt, answer in problems:
        want = [*digits_tokenizer(answer, add_special_tokens=False)["input_ids"], digits_tokenizer.eos_token_id]
        slow.append(_greedy(model, digits_tokenizer, prompt)[: len(want)] == want)
    assert fast.tolist() == slow
    assert 0 < sum(slow) < len(slow), "the check needs both right and wrong answers to mean something"


def test_answer_mask_covers_answer_and_terminator_only(digits_tokenizer):
    batch = answer_batch([("12 + 7 =", " 19"), ("3 * 4 =", " 12")], digits_tokenizer)
    row = batch["input_ids"][0][batch["answer_mask"][0]]
    assert digits_tokenizer.decode(row[:-1]) == " 19" and row[-1] == digits_tokenizer.eos_token_id
    assert batch["attention_mask"][1].sum() == 1 + 7 + 3 + 1


def test_metrics_accept_a_leading_model_dimension(memorizer, digits_tokenizer):
    model, problems = memorizer
    batch = answer_batch(problems, digits_tokenizer)
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    stacked = torch.stack([logits, torch.zeros_like(logits)])
    assert torch.equal(exact_match(stacked, batch)[0], exact_match(logits, batch))
    nll, count = token_nll(stacked, batch)
    assert nll.shape == (2,) and torch.allclose(nll[1] / count, torch.log(torch.tensor(float(logits.shape[-1]))))


def test_evaluator_grades_retain_and_forget(memorizer, digits_tokenizer):
    model, problems = memorizer
    ev = Evaluator("accuracy", {"retain": answer_batch(problems[:24], digits_tokenizer),
                                "forget": answer_batch(problems[24:], digits_tokenizer)})
    scores = ev(model)
    assert scores["retain"] > 0.5 > scores["forget"]
    with pytest.raises(ValueError, match="kind"):
        Evaluator("f1", {})


def test_evaluator_remembers_grades_by_weights_only(memorizer, digits_tokenizer):
    """A second grading of the same weights (even in another copy of the model) is not recomputed; any change
    to a weight is graded afresh; `only` grades a subset."""
    import copy
    model, problems = memorizer
    ev = Evaluator("accuracy", {"retain": answer_batch(problems[:24], digits_tokenizer),
                                "forget": answer_batch(problems[24:], digits_tokenizer)})
    calls = []
    grade = ev.grade
    ev.grade = lambda *a, **k: calls.append(1) or grade(*a, **k)
    first = ev(model)
    twin = copy.deepcopy(model)
    assert ev(twin) == first and len(calls) == 1
    with torch.no_grad():
        twin.lm_head.weight.mul_(-1.0) if not twin.config.tie_word_embeddings else twin.model.embed_tokens.weight.mul_(-1)
    changed = ev(twin)
    assert len(calls) == 2 and changed != first
    assert set(ev.only("retain")(model)) == {"retain"}
    with pytest.raises(ValueError, match="no set"):
        ev.only("korean")


def test_problem_stream_encodes_like_evaluation(digits_tokenizer):
    problems = [("12 + 7 =", " 19")]
    stream = problems_stream("p", problems, digits_tokenizer).ids
    batch = answer_batch(problems, digits_tokenizer)
    assert torch.equal(stream, batch["input_ids"][0][batch["attention_mask"][0].bool()])


def test_an_evaluator_keeps_one_cluster_id_per_item_in_its_parts():
    import numpy as np
    from undo_lib.evaluate import Evaluator
    rows = {"input_ids": torch.zeros(4, 3, dtype=torch.long), "attention_mask": torch.ones(4, 3, dtype=torch.long)}
    e = Evaluator("cross_entropy", {"retain": rows, "forget": rows}, {"forget": np.array([0, 0, 1, 1])})
    assert e.only("forget").clusters["forget"].tolist() == [0, 0, 1, 1] and e.only("retain").clusters == {}
    for bad in ({"forget": np.array([0, 1])}, {"holdout": np.array([0, 0, 1, 1])}):
        with pytest.raises(ValueError, match="not one per item"):
            Evaluator("cross_entropy", {"retain": rows, "forget": rows}, bad)
