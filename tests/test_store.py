"""Content-addressed artifacts and the CSV files results are written to: stable keys, checked contents (a damaged
artifact is an error naming its folder, never a number in a result), and two processes sharing one store."""
import json
import multiprocessing
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from undo_lib.pipeline import Experiment
from undo_lib.store import StoreError, config_key, upsert_csv



def test_config_key_is_stable_and_sensitive():
    a = {"kind": "pretrain", "train": {"lr": 1e-3, "steps": 10}}
    assert config_key(a) == config_key({"train": {"steps": 10, "lr": 1e-3}, "kind": "pretrain"})
    assert config_key(a) != config_key({"kind": "pretrain", "train": {"lr": 2e-3, "steps": 10}})


def test_upsert_replaces_rows_with_the_same_keys(tmp_path):
    path = tmp_path / "t.csv"
    upsert_csv(pd.DataFrame({"k": [1, 2], "v": ["a", "b"]}), path, ["k"])
    out = upsert_csv(pd.DataFrame({"k": [2, 3], "v": ["B", "c"]}), path, ["k"])
    assert sorted(zip(out.k, out.v)) == [(1, "a"), (2, "B"), (3, "c")]




@pytest.fixture(scope="module")
def trained_store(tmp_path_factory):
    """A smoke store holding the language reference and an attack on it."""
    root = tmp_path_factory.mktemp("trained")
    exp = Experiment("smoke", "language", 0, store_root=root)
    exp.relearn({"Reference": exp.pretrain("reference")})
    return root


@pytest.fixture
def store_copy(trained_store, tmp_path):
    """(experiment, reference folder, attack folder) on a private copy of the trained store."""
    root = tmp_path / "store"
    shutil.copytree(trained_store, root)
    exp = Experiment("smoke", "language", 0, store_root=root)
    return exp, exp.store.folder("pretrain", exp.pretrain_spec("reference").config()), next(root.glob("relearn-*"))


def _fails_naming(exp, folder, match):
    with pytest.raises(StoreError, match=match) as error:
        exp.relearn({"Reference": exp.pretrain("reference")})
    assert str(folder) in str(error.value) and f"rm -r {folder}" in str(error.value)


def test_a_missing_tensor_is_found(store_copy):
    exp, ref, _ = store_copy
    weights = load_file(ref / "model" / "model.safetensors")
    del weights["model.layers.1.mlp.down_proj.weight"]
    save_file(weights, ref / "model" / "model.safetensors", metadata={"format": "pt"})
    _fails_naming(exp, ref, "model/model.safetensors differ")


def test_an_edited_attack_value_is_found(store_copy):
    exp, _, attack = store_copy
    text = (attack / "metrics.csv").read_text().splitlines()
    lr, step, metric, _value = text[-1].split(",")
    (attack / "metrics.csv").write_text("\n".join(text[:-1] + [f"{lr},{step},{metric},0.123"]) + "\n")
    _fails_naming(exp, attack, "metrics.csv differ")


@pytest.mark.parametrize("damage, match", [
    ("config", "config.json no longer describes"), ("no model", "model/.* differ"),
    ("truncated", "model.safetensors differ"), ("empty metrics", "metrics.csv differ"), ("done", "DONE file")])
def test_every_damage_is_named_with_its_remedy(store_copy, damage, match):
    exp, ref, _ = store_copy
    if damage == "config":
        config = json.loads((ref / "config.json").read_text())
        config["train"]["lr"] *= 2
        (ref / "config.json").write_text(json.dumps(config))
    elif damage == "no model":
        shutil.rmtree(ref / "model")
    elif damage == "truncated":
        blob = (ref / "model" / "model.safetensors").read_bytes()
        (ref / "model" / "model.safetensors").write_bytes(blob[:100])
    elif damage == "empty metrics":
        (ref / "metrics.csv").write_text("")
    else:
        (ref / "DONE").write_text("{not json")
    _fails_naming(exp, ref, match)


def test_a_legacy_artifact_gets_checksums_then_is_checked(store_copy):
    """DONE files written before checksums existed are empty: trusted once, then checked like the others."""
    exp, ref, _ = store_copy
    (ref / "DONE").write_text("")
    assert exp.pretrain("reference").key == ref.name.split("-")[1]
    assert "model/model.safetensors" in json.loads((ref / "DONE").read_text())["sha256"]
    (ref / "metrics.csv").write_text((ref / "metrics.csv").read_text() + "30,retain,0.5\n")
    with pytest.raises(StoreError, match="metrics.csv differ"):
        Experiment("smoke", "language", 0, store_root=exp.store.root).pretrain("reference")


def test_loading_refuses_weights_that_do_not_fit(store_copy, tmp_path):
    """Past the checksums too: a model folder whose tensors do not fit its config is an error, not a fresh layer."""
    from undo_lib.models import load_model
    _, ref, _ = store_copy
    broken = tmp_path / "broken"
    shutil.copytree(ref / "model", broken)
    weights = load_file(broken / "model.safetensors")
    weights["extra.weight"] = torch.zeros(2)
    del weights["model.norm.weight"]
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match="missing keys: model.norm.weight; unexpected keys: extra.weight"):
        load_model(broken)
    with pytest.raises(FileNotFoundError, match="holds no saved model"):
        load_model(tmp_path / "nowhere")  # a path, never a hub id


def _pretrain_in(root, queue):
    exp = Experiment("smoke", "language", 0, store_root=root)
    trained = not exp.store.find("pretrain", exp.pretrain_spec("reference").config())
    artifact = exp.pretrain("reference")
    queue.put((artifact.key, trained, (artifact.path / "DONE").stat().st_mtime_ns))


def test_two_processes_on_one_store_train_a_stage_once(tmp_path):
    """Two runs started together on one store: one trains the stage, the other waits for it and reuses it."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_pretrain_in, args=(tmp_path / "shared", queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    keys, _, done = zip(*results)
    assert len(set(keys)) == 1 and len(set(done)) == 1  # one artifact, finished once
    assert len(list((tmp_path / "shared").glob("pretrain-*"))) == 1
    assert not list((tmp_path / "shared").rglob("*.tmp*"))


def _upsert_many(path, writer, n):
    for i in range(n):
        upsert_csv(pd.DataFrame({"writer": [writer], "i": [i]}), path, ["writer", "i"])


def test_concurrent_csv_upserts_lose_no_row(tmp_path):
    path = tmp_path / "claims.csv"
    code = ("import sys; sys.path.insert(0, 'tests'); from test_store import _upsert_many; "
            "_upsert_many(sys.argv[1], sys.argv[2], 40)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), w]) for w in ("a", "b")]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    assert len(pd.read_csv(path)) == 80
