"""The offline WMDP/MMLU stand-in: arithmetic multiple-choice questions and Table 12's relearning formats."""
import random

import pytest

from undo_lib.data import arithmetic, choices


def test_distractors_are_near_distinct_and_never_negative():
    rng = random.Random(0)
    for answer in (0, 1, 2, 7, 221):
        d = choices.distractors(answer, rng)
        assert len(set(d)) == 3 and answer not in d and min(d) >= 0 and max(abs(x - answer) for x in d) <= 10


def test_questions_cover_the_split_once_with_the_answer_anywhere():
    rows = choices.questions(arithmetic.FORGET_OPS, "test", 42)
    want = [p for p, _ in arithmetic.graded_problems(arithmetic.FORGET_OPS, "test", 0.0, 42)]
    assert [r["question"] for r in rows] == want
    for r in rows:
        a, op, b, _ = r["question"].split()
        true = arithmetic.result({"*": "mul", "/": "div"}[op], int(a), int(b))
        assert r["choices"][r["answer"]] == f" {true}" and len(set(r["choices"])) == 4
    positions = [r["answer"] for r in rows]
    assert all(positions.count(k) > len(rows) / 8 for k in range(4))  # not always first: position is no cue
    assert rows == choices.questions(arithmetic.FORGET_OPS, "test", 42)  # seeded


def test_fewshot_and_relearning_data_avoid_the_graded_facts():
    graded = {p for p, _ in arithmetic.graded_problems(arithmetic.RETAIN_OPS, "test", 0.0, 0)}
    graded |= {p for p, _ in arithmetic.graded_problems(arithmetic.RETAIN_OPS, "validation", 0.0, 0)}
    shots = choices.fewshot(arithmetic.RETAIN_OPS, 5, 0)
    assert len(shots) == 5 and not {r["question"] for r in shots} & graded
    qa = choices.qa_problems(arithmetic.FORGET_OPS, 50, "attack", 0)
    test = {p.removesuffix(" =") for p, _ in arithmetic.graded_problems(arithmetic.FORGET_OPS, "test", 0.0, 0)}
    asked = {q.removeprefix("Question: What is ").split("?")[0] for q, _ in qa}
    assert all(q.startswith("Question: What is ") and q.endswith("?\nAnswer:") for q, _ in qa)
    assert asked and not asked & test
    with pytest.raises(ValueError):
        choices.distractors(0, random.Random(0), n=20)
