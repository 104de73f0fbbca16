"""Multiple-choice grading through lm-eval over local files, against log-likelihoods computed by hand."""
import time

import pytest
import torch

from undo_lib.data.tokenizer import embedded_tokenizer
from undo_lib.models import MODEL_PRESETS, build_model
from undo_lib.multiple_choice import ChoiceEvaluator, ChoiceTask, write_task

ROWS = tuple({"question": f"{a} * {b} =", "choices": [f" {a * b + d}" for d in (0, 1, 10, 2)], "answer": k % 4}
             for k, (a, b) in enumerate([(3, 7), (12, 4), (9, 9), (6, 11), (2, 5), (8, 13), (15, 3), (7, 7)]))
FEWSHOT = tuple({"question": f"{a} + {a} =", "choices": [f" {2 * a}", f" {2 * a + 1}"], "answer": 0}
                for a in range(1, 6))


@pytest.fixture(scope="module")
def model_and_tokenizer():
    tok = embedded_tokenizer()
    return build_model(MODEL_PRESETS["tiny"], len(tok), seed=3, tokenizer=tok).eval(), tok


def _loglik(model, tok, context: str, continuation: str) -> float:
    """log p(continuation | <bos> context), summed over the continuation's tokens."""
    ctx = [tok.bos_token_id] + tok(context, add_special_tokens=False)["input_ids"]
    cont = tok(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([ctx + cont])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
    return float(sum(logp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)))


def _by_hand(model, tok, rows, prefix=""):
    right = []
    for r in rows:
        scores = [_loglik(model, tok, prefix + r["question"], c) for c in r["choices"]]
        right.append(float(max(range(len(scores)), key=scores.__getitem__) == r["answer"]))
    return right


def test_lm_eval_picks_the_option_of_highest_log_likelihood(model_and_tokenizer, tmp_path):
    model, tok = model_and_tokenizer
    delimiter = tok.eos_token + tok.bos_token  # the training rows' boundary: "<eos><bos>"
    fewshot = delimiter.join(f"{r['question']}{r['choices'][r['answer']]}" for r in FEWSHOT[:2]) + delimiter
    bos = tok.bos_token  # every context starts with it, as the training rows do
    tasks = {"forget": ChoiceTask("mc_forget", ROWS, prefix=bos),
             "retain": ChoiceTask("mc_retain", ROWS, FEWSHOT, 2, fewshot_delimiter=delimiter, prefix=bos)}
    items = {}
    acc = ChoiceEvaluator(tasks, tok, tmp_path)(model, items)
    for metric, prefix in (("forget", ""), ("retain", fewshot)):
        want = _by_hand(model, tok, ROWS, prefix)
        assert items[metric].tolist() == want and acc[metric] == pytest.approx(sum(want) / len(want))
    assert 0 < sum(items["forget"]) < len(ROWS)  # the check can fail: some right, some wrong


def test_write_task_and_bad_rows(tmp_path):
    path = write_task(ChoiceTask("mc_x", ROWS[:2], FEWSHOT, 5), tmp_path)
    text = path.read_text()
    assert "dataset_path: json" in text and "output_type: multiple_choice" in text and "num_fewshot: 5" in text
    assert len((tmp_path / "mc_x.jsonl").read_text().splitlines()) == 2
    with pytest.raises(ValueError, match="distinct choices"):
        ChoiceTask("bad", ({"question": "q", "choices": [" 1", " 1"], "answer": 0},))
    with pytest.raises(ValueError, match="answer among them"):
        ChoiceTask("bad", ({"question": "q", "choices": [" 1", " 2"], "answer": 2},))
    with pytest.raises(ValueError, match="5-shot"):
        ChoiceTask("bad", ROWS, FEWSHOT[:3], 5)


def test_a_hub_task_fails_at_once_with_a_clear_message_offline(model_and_tokenizer, tmp_path, offline):
    model, tok = model_and_tokenizer
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="lm-eval task 'wmdp_bio' needs the Hugging Face hub.*dataset cais/wmdp"):
        ChoiceEvaluator({"forget": "wmdp_bio"}, tok, tmp_path)(model)
    assert time.perf_counter() - start < 10  # before lm-eval indexes its tasks (~30 s)


def test_the_batched_engine_picks_what_lm_eval_picks_question_by_question(model_and_tokenizer, tmp_path):
    from undo_lib.data import arithmetic, choices
    model, tok = model_and_tokenizer
    bos, delimiter = tok.bos_token, tok.eos_token + tok.bos_token
    tasks = {"forget": ChoiceTask("st_forget", choices.questions(arithmetic.FORGET_OPS, "test", 42)[:60], prefix=bos),
             "retain": ChoiceTask("st_retain", ROWS, FEWSHOT, 3, fewshot_delimiter=delimiter, prefix=bos)}
    slow, fast = {}, {}
    acc = ChoiceEvaluator(tasks, tok, tmp_path)(model, slow)
    assert ChoiceEvaluator(tasks, tok, tmp_path, engine="batched")(model, fast) == acc
    for metric in tasks:
        assert fast[metric].tolist() == slow[metric].tolist()
    assert 0 < fast["forget"].sum() < 60
    with pytest.raises(ValueError, match="engine"):
        ChoiceEvaluator(tasks, tok, tmp_path, engine="fast")
    with pytest.raises(ValueError, match="local ChoiceTasks only"):
        ChoiceEvaluator({"forget": "wmdp_bio"}, tok, tmp_path, engine="batched")


def test_the_batched_engine_tokenizes_once_and_grades_as_by_hand(model_and_tokenizer, tmp_path):
    model, tok = model_and_tokenizer
    calls = []

    class Counting:  # the tokenizer, counting its calls
        pad_token_id = tok.pad_token_id

        def __call__(self, *args, **kwargs):
            calls.append(args)
            return tok(*args, **kwargs)

    task = ChoiceTask("st_count", ROWS, FEWSHOT, 2, prefix=tok.bos_token)
    grade = ChoiceEvaluator({"forget": task}, Counting(), tmp_path, engine="batched")
    shots = "".join(r["question"] + r["choices"][0] + "\n" for r in FEWSHOT[:2])
    by_hand = _by_hand(model, tok, ROWS, shots)  # <bos> (the task's prefix), the two shots, the question
    for evaluator in (grade, grade, grade.only("forget")):  # a part of the evaluator shares its encodings
        items = {}
        assert evaluator(model, items)["forget"] == pytest.approx(sum(by_hand) / len(ROWS))
        assert items["forget"].tolist() == by_hand
    assert len(calls) == 2  # contexts and options, each in one batched call, for all three gradings
    assert 0 < sum(by_hand) < len(ROWS)  # the tiny model gets some right and some wrong: the check can fail
