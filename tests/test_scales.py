"""Notebook parameters and the presets of each scale."""
import dataclasses

import pytest

from undo_lib.scales import PRESETS, CompareCfg, Preset, UndoCfg, UnlearnCfg, check_params


@pytest.mark.parametrize("scale, seed, setting, name", [("laptop", 0, "both", "scale"), ("cpu", -1, "both", "seed"),
                                                        ("cpu", 1.5, "both", "seed"), ("cpu", 0, "korean", "setting")])
def test_bad_notebook_parameters_are_named(scale, seed, setting, name):
    with pytest.raises(ValueError, match=f"parameter '{name}' must be"):
        check_params(scale, seed, setting)


def test_check_params_expands_both():
    assert check_params("smoke", 0, "both") == ["arithmetic", "language"]
    assert check_params("paper", 3, "language") == ["language"]


def test_presets_are_keyword_only_and_every_scale_has_both_settings():
    with pytest.raises(TypeError):
        CompareCfg(2, (0.01,), ((1.0, 1.0),), (1.0,), (0.05,))  # positional presets are refused
    assert all(f.kw_only for cls in (Preset, CompareCfg, UndoCfg, UnlearnCfg) for f in dataclasses.fields(cls))
    assert {(p.scale, p.setting) for p in PRESETS.values()} == set(PRESETS)
    assert {s for s, _ in PRESETS} == {"smoke", "cpu", "gpu", "paper"}
    assert all(set(p.unlearn) == {"default", "rmu"} for p in PRESETS.values())
