"""Stage descriptions: typed initializations and stop rules, and store keys that did not move in the refactor."""
from pathlib import Path

import pytest

from undo_lib.pipeline import Experiment
from undo_lib.stages import From, MissingParent, Noised, Random, Recovered, StageSpec
from undo_lib.store import Artifact, Store

# Keys of smoke stages computed by the code before StageSpec existed (commit 21c914e): the refactor kept every key,
# so every stored result stays valid. (setting, stage) -> key.
LEGACY_KEYS = {
    ("arithmetic", "pretrain"): "0cb1192c624471ed", ("arithmetic", "oracle"): "30f558328373a11e",
    ("arithmetic", "distill into reference"): "cb1707d51c63ab7b", ("arithmetic", "distill"): "b4111c5ed31aee86",
    ("arithmetic", "grad_diff"): "5e0452cad473e312", ("arithmetic", "max_ent"): "b150c9dc97dbe94b",
    ("arithmetic", "rmu"): "2caaa21f1fd22eff", ("arithmetic", "sam"): "9d8d2484d7e0d417",
    ("arithmetic", "rep_noise"): "e409f43950fbf3bb", ("arithmetic", "undial"): "76b885a151064147",
    ("arithmetic", "attack forget only"): "f6f3a0f9c7c2dec2", ("arithmetic", "attack"): "2589691fae0b0e40",
    ("arithmetic", "undo"): "d1fe0c8495269c9d",
    ("language", "pretrain"): "a015a265a42c066b", ("language", "oracle"): "11d9b9173a67d03b",
    ("language", "distill into reference"): "cfc97d17c341a1f1", ("language", "distill"): "506fe8fe71aaaa41",
    ("language", "grad_diff"): "2effc9f6a9a89ab7", ("language", "max_ent"): "71c6f4b6bae0cffb",
    ("language", "rmu"): "5747305ae2b13cfc", ("language", "sam"): "052b8cfc13886e25",
    ("language", "rep_noise"): "c18640e4eaa3690f", ("language", "undial"): "1f3eb5847c84db0f",
    ("language", "attack forget only"): "57c0fcf906b12b2b", ("language", "attack"): "bc261fc418bc89ef",
    ("language", "undo"): "bfa862ec5828c1c1",
}


def _fake(tmp_path, key, kind="pretrain", retain=0.5):
    """An artifact with only a metrics file (what UNDO's stop rule reads), under a made-up key."""
    path = tmp_path / f"{kind}-{key}"
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.csv").write_text(f"step,metric,value\n4,retain,{retain}\n4,forget,0.25\n")
    return Artifact(kind, key, path, {})


@pytest.mark.parametrize("setting", ["arithmetic", "language"])
def test_store_keys_are_those_of_the_code_before_the_refactor(tmp_path, monkeypatch, setting):
    exp = Experiment("smoke", setting, 0, store_root=tmp_path)
    reference = _fake(tmp_path, exp.pretrain_spec("reference").key)
    monkeypatch.setattr(exp, "pretrain", lambda which="reference": reference)  # no training needed for keys
    keys = {"pretrain": reference.key, "oracle": exp.pretrain_spec("oracle").key,
            "distill into reference": exp.distill_spec(reference, reference).key,
            "distill": exp.distill_spec(reference).key,
            "attack forget only": exp.attack_specs(reference).key,
            "attack": exp.attack_specs(reference, forget_only=False).key,
            "undo": exp.undo_spec(_fake(tmp_path, "feedfacefeedface", "unlearn"), 0.3, 0.1, 0, 0.05, 5).key}
    keys.update({m: exp.unlearn_spec(m, 1e-3).key for m in ("grad_diff", "max_ent", "rmu", "sam", "rep_noise",
                                                            "undial")})
    assert keys == {stage: key for (s, stage), key in LEGACY_KEYS.items() if s == setting}


def test_a_missing_parent_raises_before_anything_trains(tmp_path):
    exp = Experiment("smoke", "arithmetic", 0, store_root=tmp_path)
    with pytest.raises(MissingParent, match="stored Artifact, got None"):
        exp.distill_spec(_fake(tmp_path, "0" * 16), init=None)
    with pytest.raises(MissingParent):
        From("store/cpu/pretrain-0123")
    with pytest.raises(MissingParent, match="init must be Random, From or Noised"):
        StageSpec(kind="pretrain", base={}, objective="cross_entropy", mixture="reference", mixture_spec={},
                  train=exp.preset.pretrain, init={"random": 3})
    with pytest.raises(ValueError, match="must be a stored Artifact or 'random'"):
        exp.distill_spec(_fake(tmp_path, "0" * 16), init="fresh")
    assert not list(tmp_path.glob("*/config.json"))  # nothing was begun


def test_noise_and_stop_rules_are_checked_and_applied(tmp_path):
    parent = _fake(tmp_path, "1" * 16)
    with pytest.raises(ValueError, match="0 <= alpha <= 1"):
        Noised(parent, 1.5, 0.1, 0)
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        Recovered("retain", 0.5, -1, True)
    accuracy, loss = Recovered("retain", 0.5, 0.05, True), Recovered("retain", 2.0, 0.05, False)
    assert accuracy({"retain": 0.45}) and not accuracy({"retain": 0.44})  # absolute points
    assert loss({"retain": 2.1}) and not loss({"retain": 2.11})           # relative
    assert Noised(parent, 0.5, 0.1, 3).config() == {"noised": "1" * 16, "alpha": 0.5, "beta": 0.1, "seed": 3}
    assert Random(7).config() == {"random": 7} and From(parent).config() == "1" * 16


def test_a_stored_config_describes_its_spec_again(tmp_path):
    """undo_lib.launch rebuilds a spec from its config.json: the same key, parents looked up in the store."""
    exp = Experiment("smoke", "language", 0, store_root=tmp_path)
    teacher = exp.unlearn("max_ent", 1e-3)
    for spec in (exp.undo_spec(teacher, 0.5, 0.1, 0, 0.05, 2), exp.unlearn_spec("rmu", 1e-2),
                 exp.unlearn_spec("sam", 1e-3), exp.pretrain_spec("oracle")):
        again = StageSpec.from_config(spec.config(), Store(tmp_path))
        assert again.key == spec.key and type(again.init) is type(spec.init)
    assert Path(teacher.path).exists()
