"""Each setting owns its data, mixtures, evaluator and metric direction; no other module tests a setting by name."""
import ast
import math

import numpy as np
import pytest

from undo_lib import repo_path
from undo_lib.scales import preset
from undo_lib.settings import Arithmetic, Language, make_setting


def test_settings_own_their_direction_chance_and_labels():
    arith, lang = make_setting(preset("smoke", "arithmetic")), make_setting(preset("smoke", "language"))
    assert isinstance(arith, Arithmetic) and isinstance(lang, Language)
    assert arith.higher_is_better and not lang.higher_is_better
    assert arith.chance == 0.0 and lang.chance == pytest.approx(math.log(len(lang.tokenizer)))
    assert (arith.forget_label, lang.forget_label) == ("mul/div", "Korean")
    assert arith.evaluator.higher_is_better and set(lang.evaluator.sets) == {"retain", "forget"}
    with pytest.raises(ValueError, match="preset of 'language' given to the 'arithmetic' setting"):
        Arithmetic(preset("smoke", "language"))


def test_mixtures_list_the_forget_stream_first_and_draw_in_their_ratio():
    for name in ("arithmetic", "language"):
        s = make_setting(preset("smoke", name))
        parts = s.mixture_parts()
        assert set(parts) == {"reference", "oracle", "attack", "unlearn"}
        assert parts["unlearn"][0][0] in ("mul_div", "korean")  # unlearning rows: forget stream first
        batch = s.mixture("unlearn").batch(0, 8, seed=0)
        assert (batch["source"] == 0).sum() == 4  # forget and retain rows 1:1
        with pytest.raises(ValueError, match="has no mixture 'pretraining'"):
            s.mixture("pretraining")
    arith = make_setting(preset("smoke", "arithmetic"))
    assert 0 < arith.attack_passes(arith.preset.attack)


def test_no_module_but_settings_tests_a_setting_by_name():
    """A comparison with "arithmetic" or "language" anywhere in undo_lib outside settings.py is a setting tested
    by string, the pattern the Setting abstraction replaced."""
    offenders = []
    for path in repo_path("undo_lib").rglob("*.py"):
        if path.name == "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                names = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]
                if {"arithmetic", "language"} & set(names):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_the_attack_trains_on_no_graded_fact_and_the_splits_are_disjoint():
    """Arithmetic: the attack's mul/div rows come from the attack facts, never a graded (validation or test)
    problem, while pretraining's mul/div rows do hold graded problems; language: validation and test windows are
    different text."""
    arith = make_setting(preset("smoke", "arithmetic"))
    tok = arith.tokenizer

    def problems(stream):
        cuts = stream.starts.tolist() + [len(stream.ids)]
        return {tok.decode(stream.ids[a:b], skip_special_tokens=True).strip() for a, b in zip(cuts, cuts[1:])}

    def graded(evaluator):
        rows = evaluator.sets["forget"]
        return {tok.decode(r[m.bool()], skip_special_tokens=True).strip()
                for r, m in zip(rows["input_ids"], rows["attention_mask"])}
    assert arith.mixture_parts()["attack"][0][0] == "mul_div_attack"
    held_out = graded(arith.validation) | graded(arith.evaluator)
    assert not problems(arith.streams["mul_div_attack"]) & held_out
    assert problems(arith.streams["mul_div"]) & held_out  # the check can fail: pretraining sees every fact
    assert not graded(arith.validation) & graded(arith.evaluator)
    lang = make_setting(preset("smoke", "language"))
    val, test = lang.validation.sets["retain"]["input_ids"], lang.evaluator.sets["retain"]["input_ids"]
    assert not {tuple(r.tolist()) for r in val} & {tuple(r.tolist()) for r in test}


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_language_grades_every_document_on_validation_or_test_never_both(scale):
    """Every document's held-out part begins in a graded window, of one split only; n_eval tokens per split."""
    import torch
    lang = make_setting(preset(scale, "language"))
    for name, code in (("retain", "english"), ("forget", "korean")):
        val, test = lang.validation.sets[name], lang.evaluator.sets[name]
        graded = {tuple(r.tolist()) for r in torch.cat([val["input_ids"], test["input_ids"]])}
        assert len(graded) == len(val["input_ids"]) + len(test["input_ids"])  # no window in both
        stream, length = lang.held_out(code), lang.preset.seq_len
        for start in stream.starts.tolist():
            w = start // length * length
            window = tuple(stream.ids[w: w + length].tolist())
            assert len(window) == length and window in graded, f"{code}: the document at {start} is not graded"
        windows = len(stream.ids) // length
        assert len(val["input_ids"]) >= min(lang.preset.n_eval // length, windows // 2)
        for split, ev in (("validation", lang.validation), ("test", lang.evaluator)):  # a window's document
            docs, rows = ev.clusters[name], ev.sets[name]["input_ids"]
            assert len(docs) == len(rows) and (np.diff(docs) >= 0).all() and len(set(docs)) >= 2
            for doc, row in zip(docs.tolist(), rows):
                at = [w for w in range(windows) if torch.equal(stream.ids[w * length: (w + 1) * length], row)][0]
                middle, starts = at * length + length // 2, stream.starts.tolist() + [len(stream.ids)]
                assert starts[doc] <= middle < starts[doc + 1] or (doc == 0 and middle < starts[0]), (split, doc)


def test_wmdp_stand_in_grades_multiple_choice_and_has_table12s_mixtures():
    import torch
    from undo_lib.models import MODEL_PRESETS, build_model
    from undo_lib.scales import check_params, preset
    from undo_lib.settings import make_setting
    from undo_lib.wmdp import DATASET_NAMES
    assert check_params("smoke", 0, "both") == ["arithmetic", "language"]  # the stand-in is asked for by name
    s = make_setting(preset("smoke", "wmdp"))
    assert s.chance == 0.25 and s.higher_is_better
    for name in DATASET_NAMES.values():
        batch = s.mixture(name, 4 * s.preset.seq_len).batch(0, 8, 0)
        assert batch["input_ids"].shape == (8, 4 * s.preset.seq_len)
    text = s.tokenizer.decode(s.mixture("forget/retain-qa").batch(0, 8, 0)["input_ids"][0])
    assert "Question: What is" in text
    model = build_model(MODEL_PRESETS[s.preset.model], len(s.tokenizer), 0, s.tokenizer)
    items = {}
    grades = s.evaluator(model, items)
    assert set(grades) == {"retain", "forget"} and all(0 <= v <= 1 for v in grades.values())
    assert len(items["forget"]) == len(s.evaluator.tasks["forget"].rows) == s.preset.n_eval  # spread at smoke
    cpu = make_setting(preset("cpu", "wmdp")).evaluator
    assert len(cpu.tasks["forget"].rows) == 234  # every test question
    assert len(cpu.clusters["forget"]) == 234 and len(set(cpu.clusters["forget"])) == 63  # of 63 facts
    assert len(s.evaluator.only("retain").clusters["retain"]) == len(s.evaluator.tasks["retain"].rows)
    with pytest.raises(ValueError, match="no 'wmdp' preset at scale 'paper'"):
        preset("paper", "wmdp")


def test_post_training_finetunes_on_every_author_and_attacks_no_graded_fact():
    s = make_setting(preset("cpu", "tofu"))
    assert s.higher_is_better and s.chance == 0.0 and s.unit == "Q&A probability"
    assert [name for name, _ in s.mixture_parts()["unlearn"]] == ["forget_qa", "retain_qa"]
    forget = {(f.author, f.field) for f in s.facts("forget", "all")}
    attack = {(f.author, f.field) for f in s.facts("forget", "attack")}
    graded = {g: {(f.author, f.field) for f in s.facts(g, "test")} for g in ("forget", "retain", "holdout")}
    assert attack < forget and graded["forget"] < forget and not attack & graded["forget"]
    assert len({a for a, _ in forget}) == 30 and len(graded["forget"]) == 60  # 150 authors: 30 forget, 2 test facts
    trained = s.tokenizer.decode(s.streams["finetune"].ids[:4000])
    holdout_author = next(iter(graded["holdout"]))[0]
    assert "Question: " in trained and holdout_author not in s.tokenizer.decode(s.streams["finetune"].ids)
    evaluator = s.graded("validation")
    assert set(evaluator.sets) == {"forget", "retain", "holdout"}
    assert set(evaluator.only("forget").sets) == {"forget", "holdout"}  # the membership inference needs both


@pytest.mark.parametrize("name", ["arithmetic", "language", "wmdp", "tofu"])
def test_every_setting_grades_only_validation_or_test(name):
    setting = make_setting(preset("smoke", name))
    with pytest.raises(ValueError, match="split must be 'validation' or 'test', got 'train'"):
        setting.graded("train")
