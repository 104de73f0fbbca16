"""TOFU's metrics, each against a hand-computed case, and their evaluator on a tiny model."""
import math
import os

import numpy as np
import pytest
import torch

from undo_lib.data.biographies import author_facts, facts, names
from undo_lib.data.tokenizer import char_tokenizer
from undo_lib.models import build_model
from undo_lib.tofu import (TofuEvaluator, closer_to_1, extraction_strength, forget_quality, mia_auc, min_k_score,
                           model_utility, qa_probability, rouge_l_recall, true_better, truth_ratio)

from conftest import TINY

EOS = 9


def _batch():
    """Two rows: prompt tokens, then an answer (answer_mask) ending in EOS; the second row padded."""
    ids = torch.tensor([[1, 2, 3, 4, 5, EOS], [1, 2, 6, EOS, 0, 0]])
    answer = torch.tensor([[0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0]], dtype=torch.bool)
    return {"input_ids": ids, "attention_mask": (ids > 0).long(), "answer_mask": answer, "eos_token_id": EOS}


def test_qa_probability_is_the_length_normalized_probability_of_the_answer():
    batch = _batch()
    logits = torch.randn(2, 6, 12, generator=torch.Generator().manual_seed(0))
    logp = torch.log_softmax(logits.double(), -1)
    want = []
    for n in range(2):
        lps = [logp[n, t - 1, batch["input_ids"][n, t]].item() for t in range(6) if batch["answer_mask"][n, t]]
        want.append(math.exp(sum(lps) / len(lps)))  # EOS counts as an answer token, as OpenUnlearning's labels
    assert qa_probability(logits, batch).tolist() == pytest.approx(want, rel=1e-5)


def test_qa_probability_of_the_whole_answer_multiplies_its_tokens():
    batch = _batch()
    logits = torch.randn(2, 6, 12, generator=torch.Generator().manual_seed(0))
    logp = torch.log_softmax(logits.double(), -1)
    want = [math.prod(math.exp(logp[n, t - 1, batch["input_ids"][n, t]].item())
                      for t in range(6) if batch["answer_mask"][n, t]) for n in range(2)]
    assert qa_probability(logits, batch, per_token=False).tolist() == pytest.approx(want, rel=1e-5)
    assert (qa_probability(logits, batch, per_token=False) < qa_probability(logits, batch)).all()


def test_truth_ratio_and_its_two_aggregates():
    para = torch.tensor([0.5, 0.1])
    pert = torch.tensor([[0.1, 0.4], [0.2, 0.2]])  # geometric means 0.2 and 0.2
    tr = truth_ratio(para, pert)
    assert tr.tolist() == pytest.approx([0.4, 2.0], rel=1e-6)
    assert closer_to_1(tr).tolist() == pytest.approx([0.4, 0.5], rel=1e-6)
    assert true_better(tr).tolist() == pytest.approx([0.6, 0.0], abs=1e-6)


def test_extraction_strength_counts_the_right_suffix():
    batch = _batch()
    logits = torch.zeros(2, 6, 12)
    ids = batch["input_ids"]
    for n in range(2):
        for t in range(1, 6):
            logits[n, t - 1, ids[n, t]] = 5.0  # every next token right
    full = extraction_strength(logits, batch)
    assert full.tolist() == pytest.approx([1.0, 1.0])
    logits[0, 1, :] = 0
    logits[0, 1, 11] = 5.0  # row 0: the first answer token (3) wrong, the rest right: k = 1 of n = 3
    logits[1, 1, :] = 0
    logits[1, 1, 11] = 5.0  # row 1: its only answer token (6) wrong: k = 1 of 1
    assert extraction_strength(logits, batch).tolist() == pytest.approx([2 / 3, 0.0])
    logits[0, 3, :] = 0
    logits[0, 3, 11] = 5.0  # row 0: its last answer token (5) wrong too: nothing right after it, k = 3
    assert extraction_strength(logits, batch)[0].item() == pytest.approx(0.0)


def test_min_k_score_averages_the_least_likely_answer_tokens():
    batch = _batch()
    logits = torch.randn(2, 6, 12, generator=torch.Generator().manual_seed(1))
    logp = torch.log_softmax(logits.double(), -1)
    row0 = sorted(logp[0, t - 1, batch["input_ids"][0, t]].item() for t in (2, 3, 4))  # EOS left out
    assert min_k_score(logits, batch, k=0.4)[0].item() == pytest.approx(-row0[0], rel=1e-5)  # int(1.2) = 1 token
    assert min_k_score(logits, batch, k=0.7)[0].item() == pytest.approx(-(row0[0] + row0[1]) / 2, rel=1e-5)


def test_mia_auc_rouge_utility_and_forget_quality():
    assert mia_auc([0.1, 0.2], [0.5, 0.9]) == 1.0  # members have the lower loss: told apart
    assert mia_auc([0.3, 0.7], [0.3, 0.7]) == 0.5
    assert mia_auc([0.1, 0.6], [0.5, 0.9]) == 0.75  # 3 of 4 (member, non-member) pairs ordered
    got = rouge_l_recall(["Kalan was born in Oslo.", "nothing here"], ["Kalan Arden was born in Oslo."])
    assert len(got) == 1 and got[0] == pytest.approx(5 / 6)  # LCS 5 of the truth's 6 words
    assert model_utility([0.5, 0.25, 1.0]) == pytest.approx(3 / (2 + 4 + 1))
    assert model_utility([0.5, 0.0]) == 0.0
    assert forget_quality([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]) == pytest.approx(1.0)
    assert forget_quality(np.linspace(0, 1, 30), np.linspace(2, 3, 30)) < 1e-6


def test_authors_have_perturbed_answers_and_disjoint_parts():
    one = author_facts("Kalan Arden", 0)
    assert len({f.field for f in one}) == len(one) and all(len(f.perturbed) == 5 for f in one)
    assert all(f.answer not in f.perturbed and f.paraphrase != f.answer for f in one)
    for f in one:  # a perturbed answer is the paraphrase with another value: they differ where the value is
        prefix = len(os.path.commonprefix([f.paraphrase, *f.perturbed]))
        assert prefix < len(f.paraphrase) and all(p[:prefix] == f.paraphrase[:prefix] for p in f.perturbed)
    shares = {"forget": 0.25, "holdout": 0.25}
    parts = {p: facts(8, "forget", p, 0, shares) for p in ("attack", "validation", "test")}
    keys = {p: {(f.author, f.field) for f in fs} for p, fs in parts.items()}
    assert len(keys["attack"]) == 2 * 4 and len(keys["test"]) == 2 * 2
    assert not (keys["attack"] & keys["test"]) and not (keys["validation"] & keys["test"])
    authors = {g: {f.author for f in facts(8, g, "all", 0, shares)} for g in ("forget", "retain", "holdout")}
    assert [len(a) for a in authors.values()] == [2, 4, 2] and not (authors["forget"] & authors["holdout"])
    every = names(150, 0)  # the cpu preset's authors: no first or family name shared
    assert len({n.split()[0] for n in every}) == len({n.split()[1] for n in every}) == 150
    with pytest.raises(ValueError, match="leave a group empty"):
        facts(2, "forget", "all", 0, shares)


def test_the_evaluator_grades_every_metric_on_a_tiny_model():
    shares = {"forget": 0.25, "holdout": 0.25}
    sets = {g: facts(8, g, "test", 0, shares) for g in ("forget", "retain", "holdout")}
    every = [f.row(a) for fs in sets.values() for f in fs for a in (f.answer, f.paraphrase, *f.perturbed)]
    text = "".join(prompt + answer for prompt, answer in every)
    tok = char_tokenizer([text])
    model = build_model(TINY, len(tok), seed=0, tokenizer=tok)
    evaluator = TofuEvaluator(sets, tok)
    items = {}
    got = evaluator(model, items)
    assert set(got) == {"forget", "forget_rouge", "forget_truth_ratio", "forget_extraction", "forget_mia_auc",
                        "retain", "retain_rouge", "retain_truth_ratio", "model_utility"}
    assert all(0 <= v <= 1 for v in got.values())
    assert got["forget"] < 0.2  # an untrained model gives a true answer little probability
    assert len(items["forget"]) == len(sets["forget"]) and items["forget"].mean() == pytest.approx(got["forget"])
    authors = evaluator.clusters["forget"]  # one id per author, shared by the author's questions
    assert len(authors) == len(sets["forget"]) and len(set(authors)) == len({f.author for f in sets["forget"]}) == 2
    assert all((authors == authors[i]).sum() == sum(f.author == sets["forget"][i].author for f in sets["forget"])
               for i in range(len(authors)))
    answers = evaluator.generate(model, sets["forget"][:3])
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    assert set(evaluator.only("forget")(model)) == {"forget", "forget_rouge", "forget_truth_ratio",
                                                    "forget_extraction", "forget_mia_auc"}
