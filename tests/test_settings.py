"""Each setting owns its data, mixtures, evaluator and metric direction; no other module tests a setting by name."""
import ast
import math

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
