"""Content-addressed artifacts and the CSV files results are written to."""
import pandas as pd

from undo_lib.store import config_key, upsert_csv


def test_config_key_is_stable_and_sensitive():
    a = {"kind": "pretrain", "train": {"lr": 1e-3, "steps": 10}}
    assert config_key(a) == config_key({"train": {"steps": 10, "lr": 1e-3}, "kind": "pretrain"})
    assert config_key(a) != config_key({"kind": "pretrain", "train": {"lr": 2e-3, "steps": 10}})


def test_upsert_replaces_rows_with_the_same_keys(tmp_path):
    path = tmp_path / "t.csv"
    upsert_csv(pd.DataFrame({"k": [1, 2], "v": ["a", "b"]}), path, ["k"])
    out = upsert_csv(pd.DataFrame({"k": [2, 3], "v": ["B", "c"]}), path, ["k"])
    assert sorted(zip(out.k, out.v)) == [(1, "a"), (2, "B"), (3, "c")]
