"""The offline stand-in for WMDP and MMLU (Section 6) at scales smoke and cpu: arithmetic as multiple choice.

Forget questions (the WMDP stand-in) are the mul/div problems of a split's facts, retain questions (the MMLU
stand-in) the add/sub ones, each with four options: the answer and three distractors near it, so that a model must
know the fact, not the answer's size. A ~1M-parameter character model cannot read lettered options ("A. 221"), so
each option is scored as the continuation of the equation, the way lm-eval scores a cloze-style task; the real WMDP
and MMLU tasks (scale paper) are lettered. Relearning data come in the formats of Table 12: raw text (the equations),
question-answer pairs, and English text mixed with question-answer pairs.
"""
import random

from . import arithmetic

OFFSETS = (1, 2, 10, 3, 20, 4, 5)  # distractors: answer +/- these, the nearest that are non-negative and distinct


def distractors(answer: int, rng: random.Random, n: int = 3) -> list[int]:
    """`n` distinct wrong answers near `answer`: +/- 1, 2, 10 (then 3, 20, ...), never negative."""
    out = []
    for d in OFFSETS:
        signs = [1, -1]
        rng.shuffle(signs)
        for s in signs:
            c = answer + s * d
            if c >= 0 and c != answer and c not in out:
                out.append(c)
                break
        if len(out) == n:
            return out
    raise ValueError(f"no {n} distractors for {answer}")


def questions(ops, split: str, seed: int, n_choices: int = 4) -> tuple:
    """Every equation of `ops` whose fact lies in `split` as a multiple-choice row {question, choices, answer}:
    the options in a seeded order, the answer at a uniformly drawn position."""
    rng = random.Random(f"choices-{seed}-{split}-{'+'.join(ops)}")
    rows = []
    for prompt, answer in arithmetic.graded_problems(ops, split, 0.0, seed):
        true = int(answer)
        options = [true] + distractors(true, rng, n_choices - 1)
        rng.shuffle(options)
        rows.append({"question": prompt, "choices": [f" {o}" for o in options], "answer": options.index(true)})
    return tuple(rows)


def fewshot(ops, n: int, seed: int) -> tuple:
    """`n` solved questions of `ops` from the training facts outside validation and test (MMLU's 5-shot prompt)."""
    held = {(op, pair) for op in ops for part in ("validation", "test") for pair in arithmetic.split_pairs(op, part)}
    rng = random.Random(f"fewshot-{seed}-{'+'.join(ops)}")
    rows = []
    while len(rows) < n:
        op = rng.choice(ops)
        a, b = rng.choice(arithmetic.split_pairs(op, "train"))
        if (op, (a, b)) in held:
            continue
        true = arithmetic.result(op, a, b)
        options = [true] + distractors(true, rng)
        rows.append({"question": f"{a} {arithmetic.SYMBOL[op]} {b} =", "choices": [f" {o}" for o in options],
                     "answer": 0})
    return tuple(rows)


def qa_problems(ops, n: int, split: str, seed: int) -> list[tuple[str, str]]:
    """`n` problems of `ops` from `split` as question-answer text (Table 12's "qa" format):
    ("Question: What is 13 * 17?\nAnswer:", " 221")."""
    out = []
    for prompt, answer in arithmetic.problems(ops, n, split, 0.0, seed):
        out.append((f"Question: What is {prompt.removesuffix(' =')}?\nAnswer:", answer))
    return out
