import random

import pytest
import torch

from undo_lib.data import arithmetic, language
from undo_lib.data.mixture import Mixture, TokenStream, split_rows
from undo_lib.data.tokenizer import embedded_tokenizer


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_operand_ranges_and_results(op):
    pairs = arithmetic.split_pairs(op, "train")
    for a, b in pairs:
        r = arithmetic.result(op, a, b)
        assert r >= 0
        if op == "add":
            assert 1 <= a <= 50 and 1 <= b <= 50
        elif op == "sub":  # the inverse of an addition fact: (a + b) - a
            assert 2 <= a <= 100 and 1 <= b <= 50 and 1 <= r <= 50
        elif op == "mul":
            assert 1 <= a <= 20 and 1 <= b <= 20
        else:  # exact division: dividend = quotient x divisor, both 1..20
            assert a % b == 0 and 1 <= b <= 20 and 1 <= a // b <= 20
    assert len(pairs) == len(set(pairs)) == {"add": 2500, "sub": 2500, "mul": 400, "div": 400}[op]


def _fact_of(op, a, b):
    """The fact (unordered operands of the forward operation) a problem states, computed independently."""
    x, y = (a, b) if op in ("add", "mul") else (b, arithmetic.result(op, a, b))
    return tuple(sorted((x, y)))


@pytest.mark.parametrize("domain, ops", [("forget", ("mul", "div")), ("retain", ("add", "sub"))])
def test_facts_are_closed_and_their_parts_disjoint(domain, ops):
    """A fact's four problems (both orders, both inverses) fall in one part; the parts cover the domain; the attack
    data, and no graded problem, come from the attack facts; every graded problem is enumerated once."""
    parts = [name for name, _ in arithmetic.FACT_PARTS[domain]]
    owner = {}
    for part in parts:
        for op in ops:
            for a, b in arithmetic.split_pairs(op, part):
                assert owner.setdefault(_fact_of(op, a, b), part) == part
    assert len(owner) == len(arithmetic.facts(domain)) == len(arithmetic.fact_split(domain, "train"))
    for split in ("validation", "test"):
        graded = arithmetic.graded_problems(ops, split, 0.0, 0)
        assert len(graded) == len(set(graded)) == sum(len(arithmetic.split_pairs(op, split)) for op in ops)
        facts = {_fact_of(op, int(p.split()[0]), int(p.split()[2])) for p, _ in graded
                 for op in ops if arithmetic.SYMBOL[op] == p.split()[1]}
        assert {owner[f] for f in facts} == {split}
    if domain == "forget":
        attack = {p + a for p, a in arithmetic.problems(list(ops), 2000, "attack", 0.0, 0)}
        assert attack and not attack & {p + a for p, a in arithmetic.graded_problems(ops, "test", 0.0, 0)}
    for op in ops:
        assert not set(arithmetic.templates(op, "train")) & set(arithmetic.templates(op, "test"))


@pytest.mark.parametrize("ops", [arithmetic.RETAIN_OPS, arithmetic.FORGET_OPS])
def test_graded_facts_name_the_fact_each_graded_problem_states(ops):
    problems = arithmetic.graded_problems(ops, "test", 0.0, 0)
    facts = arithmetic.graded_facts(ops, "test")
    split = arithmetic.fact_split(arithmetic.domain(ops[0]), "test")
    assert len(facts) == len(problems) and set(facts) == set(range(len(split)))
    for (prompt, answer), i in zip(problems, facts):
        left, symbol, right, _ = prompt.split()
        a, b = split[i]
        left, right, answer = int(left), int(right), int(answer)
        if symbol in "+*":
            assert sorted((left, right)) == [a, b]
        else:  # c - a = b, c / a = b: the total and one operand
            assert left == (a + b if symbol == "-" else a * b) and {right, answer} == {a, b}


def test_problem_formats():
    rng = random.Random(0)
    assert arithmetic.problem("add", 12, 7, rng) == ("12 + 7 =", " 19")
    assert arithmetic.problem("div", 36, 9, rng) == ("36 / 9 =", " 4")
    prompt, answer = arithmetic.problem("mul", 3, 4, rng, arithmetic.TEMPLATES["mul"][0])
    assert prompt.endswith("Answer:") and answer == " 12" and "3 bags" in prompt
    word = arithmetic.problems(["add"], 400, "train", 0.5, 0)
    assert 120 < sum(p.endswith("Answer:") for p, _ in word) < 280


def test_language_splits_are_disjoint_and_sized():
    for lang, minimum in (("english", 350_000), ("korean", 55_000)):
        train, val = language.embedded_text(lang, "train"), language.embedded_text(lang, "validation")
        assert len(train) + len(val) >= minimum
        assert 0.05 < len(val) / (len(train) + len(val)) < 0.15
        assert val[:200] not in train
    assert sum("\uac00" <= c <= "\ud7a3" for c in language.korean_text()) > 30_000  # Hangul syllables


def test_embedded_tokenizer_round_trips_every_corpus():
    tok = embedded_tokenizer()
    for text in ("12 + 7 = 19", language.korean_text()[:500], language.english_text()[:500]):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert len(ids) == len(text) and tok.unk_token_id not in ids
        assert tok.decode(ids) == text


def test_split_rows_keeps_the_ratio_exactly():
    assert split_rows([1, 3], 8) == [2, 6]
    assert split_rows([1, 7], 16) == [2, 14]
    assert split_rows([1, 1], 5) in ([3, 2], [2, 3])
    assert sum(split_rows([1, 3], 15)) == 15


def test_mixture_batches_are_a_pure_function_of_seed_and_step():
    a = TokenStream("a", torch.arange(1000))
    b = TokenStream("b", torch.arange(5000, 6000))
    mix = Mixture("m", [(a, 1), (b, 3)], seq_len=8)
    x, y = mix.batch(3, 8, seed=0), mix.batch(3, 8, seed=0)
    assert torch.equal(x["input_ids"], y["input_ids"])
    assert not torch.equal(x["input_ids"], mix.batch(4, 8, seed=0)["input_ids"])
    rows = x["input_ids"]
    assert (rows < 1000).all(1).sum() == 2 and (rows >= 5000).all(1).sum() == 6  # 1:3, each row from one stream
    assert ((rows[:, 1:] - rows[:, :-1]) == 1).all()  # contiguous windows
    assert torch.equal(x["source"] == 0, (rows < 1000).all(1))  # each row's stream is named
    with pytest.raises(ValueError, match="seq_len"):
        Mixture("short", [(TokenStream("s", torch.arange(5)), 1)], seq_len=8)


def test_rows_of_a_problem_stream_begin_with_a_problem(digits_tokenizer):
    from undo_lib.data.mixture import problems_stream
    stream = problems_stream("p", arithmetic.problems(["add", "mul"], 500, "train", 0.0, 0), digits_tokenizer)
    rows = Mixture("m", [(stream, 1)], seq_len=12).batch(0, 64, seed=0)["input_ids"]
    assert (rows[:, 0] == digits_tokenizer.bos_token_id).all()
    assert len(stream.starts) == 500


def test_encode_gives_the_tokenizers_ids_for_repeated_and_unicode_texts():
    from undo_lib.data.mixture import encode
    tok = embedded_tokenizer()
    texts = ["12 + 7 = ", "19", "12 + 7 = ", "", "한국어 문장입니다.\nA line.", "19"]
    assert encode(tok, texts) == tok(texts, add_special_tokens=False)["input_ids"]
    problems = arithmetic.problems(arithmetic.RETAIN_OPS, 300, "train", 0.5, 0)
    assert encode(tok, [p for p, _ in problems]) == tok([p for p, _ in problems], add_special_tokens=False)["input_ids"]


def test_parts_stream_is_the_joined_text_with_each_parts_start():
    from undo_lib.data.mixture import parts_stream, text_stream
    tok = embedded_tokenizer()
    for lang in ("english", "korean"):
        parts = language.embedded_parts(lang, "validation")
        stream = parts_stream(lang, parts, tok, language.SEPARATOR)
        assert torch.equal(stream.ids, text_stream(lang, language.embedded_text(lang, "validation"), tok).ids)
        assert len(stream.starts) == len(parts) > 10
        for part, start in zip(parts, stream.starts.tolist()):
            assert tok.decode(stream.ids[start: start + len(part)]) == part  # character tokens: one per character


def test_held_out_english_is_not_a_copy_of_training_english():
    """Python's topics repeat whole paragraphs of one another; after de-duplication, few 50-character windows of
    the held-out text occur in the training text."""
    train, held_out = language.english_text("train"), language.english_text("validation")
    windows = {train[i:i + 50] for i in range(len(train) - 50)}
    sampled = [held_out[i:i + 50] for i in range(0, len(held_out) - 50, 50)]
    assert sum(w in windows for w in sampled) / len(sampled) < 0.03
    assert language.deduplicated(["a" * 50 + "\n\nshort", "b\n\n" + "a" * 50]) == ("a" * 50 + "\n\nshort", "b")


def test_the_hub_check_fails_at_once_when_the_hub_cannot_be_reached(monkeypatch):
    """No hub: one short probe names every missing repo, without the hub library's retries (~25 s per file)."""
    import socket
    import time

    import huggingface_hub.constants
    from undo_lib.data import hub
    with socket.socket() as s:  # a local port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"Fig 0 needs the Hugging Face hub.*dataset a/b, model c/d "
                                           rf"\(127\.0\.0\.1:{port} cannot be reached"):
        hub.require([("a/b", "dataset"), ("c/d", "model")], "Fig 0")
    assert time.perf_counter() - start < hub.PROBE_TIMEOUT_S + 1
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE is set"):
        hub.require([("a/b", "dataset")], "Fig 0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "false")  # read as the hub library reads it: not offline
    assert hub.unreachable().endswith("cannot be reached (Connection refused)")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")  # behind a proxy the direct probe would mislead
    assert hub.unreachable() is None


def test_the_hub_check_counts_a_repo_in_the_local_cache_as_served(monkeypatch, tmp_path):
    """Offline, a repo already downloaded (here: a file placed in the cache's layout) is served from the cache."""
    import huggingface_hub.constants
    from undo_lib.data import hub
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    snapshot = tmp_path / "models--c--d" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--c--d" / "refs").mkdir()
    (tmp_path / "models--c--d" / "refs" / "main").write_text("0" * 40)
    with pytest.raises(RuntimeError, match=r"needs the Hugging Face hub, which does not serve here: dataset a/b "
                                           r"\(HF_HUB_OFFLINE is set"):
        hub.require([("a/b", "dataset"), ("c/d", "model")], "Fig 0")
