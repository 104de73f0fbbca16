"""The synthetic arithmetic data set of Appendix A.

Addition and subtraction use operands 1-50 and never a negative result; multiplication and division use operands
1-20, and every division is exact (dividend = quotient x divisor). Problems come as equations ("12 + 7 = 19") or as
templated word problems. Evaluation problems are disjoint from training problems: the operand pairs of each operation
are split once (seeded), and word problems for evaluation use templates never seen in training.
A problem is a (prompt, answer) pair; the model sees prompt + answer and is graded on the answer.
"""
import random
from functools import lru_cache

RETAIN_OPS = ("add", "sub")  # the desired capability
FORGET_OPS = ("mul", "div")  # the capability to unlearn
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
NAMES = ["Emma", "Jack", "Mia", "Noah", "Ava", "Liam", "Zoe", "Omar", "Lena", "Ravi", "Sara", "Tom"]
OBJECTS = ["marbles", "apples", "stickers", "cookies", "pencils", "coins", "books", "shells"]

# {a}, {b}: operands; {n}, {m}: names; {o}: object. Answer always follows "Answer:".
TEMPLATES = {
    "add": ["{n} has {a} {o} and {m} has {b} {o}. How many {o} do they have altogether?",
            "There are {a} {o} in a box and {b} more are added. How many {o} are in the box now?",
            "{n} found {a} {o} on Monday and {b} {o} on Tuesday. How many {o} did {n} find?",
            "A shelf holds {a} {o}. {m} puts {b} more on it. How many {o} are on the shelf?"],
    "sub": ["{n} has {a} {o} and gives {b} to {m}. How many {o} does {n} have left?",
            "There are {a} {o} in a jar. {m} takes {b} of them. How many {o} remain?",
            "{n} had {a} {o} and lost {b}. How many {o} does {n} have now?",
            "A store had {a} {o} and sold {b}. How many {o} are left?"],
    "mul": ["{n} has {a} bags with {b} {o} in each. How many {o} does {n} have?",
            "There are {a} rows of {o} with {b} in each row. How many {o} are there?",
            "{m} buys {a} packs of {o}. Each pack holds {b}. How many {o} did {m} buy?",
            "Each of {a} children has {b} {o}. How many {o} do the children have in total?"],
    "div": ["There are {a} {o} shared equally among {b} friends. How many {o} does each friend get?",
            "{n} puts {a} {o} into groups of {b}. How many groups are there?",
            "{m} has {a} {o} and gives {b} to each student. How many students get {o}?",
            "A box of {a} {o} is split into {b} equal piles. How many {o} are in each pile?"],
}
HELD_OUT_TEMPLATES = 1  # the last template of each operation is used only for evaluation
EVAL_FRACTION = 0.15     # share of operand pairs kept for evaluation


def operand_pairs(op: str) -> list[tuple[int, int]]:
    """Every (left, right) operand pair of an operation, as written in the problem."""
    if op == "add":
        return [(a, b) for a in range(1, 51) for b in range(1, 51)]
    if op == "sub":
        return [(a, b) for a in range(1, 51) for b in range(1, 51) if a >= b]
    if op == "mul":
        return [(a, b) for a in range(1, 21) for b in range(1, 21)]
    if op == "div":  # quotient q, divisor b, dividend q * b
        return [(q * b, b) for q in range(1, 21) for b in range(1, 21)]
    raise ValueError(f"unknown operation {op!r}; expected one of {sorted(SYMBOL)}")


def result(op: str, a: int, b: int) -> int:
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": a // b}[op]


@lru_cache(maxsize=None)
def split_pairs(op: str, split: str) -> tuple[tuple[int, int], ...]:
    """The operand pairs of `op` used for `split` ("train" or "eval"); the two splits are disjoint."""
    pairs = operand_pairs(op)
    random.Random(f"pairs-{op}").shuffle(pairs)
    n_eval = int(len(pairs) * EVAL_FRACTION)
    chosen = pairs[:n_eval] if split == "eval" else pairs[n_eval:]
    if split not in ("train", "eval"):
        raise ValueError(f"split must be 'train' or 'eval', got {split!r}")
    return tuple(chosen)


def templates(op: str, split: str) -> list[str]:
    return TEMPLATES[op][-HELD_OUT_TEMPLATES:] if split == "eval" else TEMPLATES[op][:-HELD_OUT_TEMPLATES]


def problem(op: str, a: int, b: int, rng: random.Random, template: str | None = None) -> tuple[str, str]:
    """(prompt, answer) for one problem; an equation when `template` is None, else a word problem."""
    if template is None:
        return f"{a} {SYMBOL[op]} {b} =", f" {result(op, a, b)}"
    n, m = rng.sample(NAMES, 2)
    text = template.format(a=a, b=b, n=n, m=m, o=rng.choice(OBJECTS))
    return f"{text} Answer:", f" {result(op, a, b)}"


def problems(ops, n: int, split: str, word_problem_frac: float, seed: int) -> list[tuple[str, str]]:
    """`n` problems drawn uniformly over `ops` from one split, a share `word_problem_frac` of them word problems."""
    rng = random.Random(f"{seed}-{split}-{'+'.join(ops)}")
    out = []
    for _ in range(n):
        op = rng.choice(ops)
        a, b = rng.choice(split_pairs(op, split))
        template = rng.choice(templates(op, split)) if rng.random() < word_problem_frac else None
        out.append(problem(op, a, b, rng, template))
    return out


def charset() -> str:
    """Every character the arithmetic data can contain (for the embedded tokenizer)."""
    text = "0123456789 =+-*/Answer:" + "".join(NAMES) + "".join(OBJECTS)
    return text + "".join(t for ts in TEMPLATES.values() for t in ts)
