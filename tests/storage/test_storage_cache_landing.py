import ast
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from workbench_dagster.captioning.call_cache import CallCache, cache_key
from workbench_dagster.keys import sanitize_key
from workbench_dagster.storage.atomic import read_parquet, write_parquet_atomic
from workbench_dagster.storage.image_store import ImageStore
from workbench_dagster.storage.landing import scan_landing

ROOT = Path(__file__).resolve().parents[2]


def test_image_store_is_content_addressed(tmp_path):
    store = ImageStore(tmp_path / "images")
    sha, uri, written = store.put(b"same bytes", "png")
    sha2, uri2, written2 = store.put(b"same bytes", "png")
    assert (sha, uri) == (sha2, uri2) and written and not written2
    assert Path(uri).name == f"{sha}.png"
    assert store.get(uri) == b"same bytes"
    assert not list((tmp_path / "images").glob(".*.tmp"))


def test_parquet_round_trip_and_no_temporary_left(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "labels": [["x"], []]})
    target = tmp_path / "t" / "p.parquet"
    write_parquet_atomic(df, target)
    back = read_parquet(target)
    assert back["a"].tolist() == [1, 2] and [list(x) for x in back["labels"]] == [["x"], []]
    assert [p.name for p in target.parent.iterdir()] == ["p.parquet"]


def test_cache_key_covers_every_component():
    base = dict(
        backend="b", model_id="m", prompt_version="v1", rendered_prompt="p", image_sha256="s", decoding={"t": 0}
    )
    keys = {cache_key(**base)}
    for field, value in [
        ("backend", "c"),
        ("model_id", "n"),
        ("prompt_version", "v2"),
        ("rendered_prompt", "q"),
        ("image_sha256", "z"),
        ("decoding", {"t": 1}),
    ]:
        keys.add(cache_key(**{**base, field: value}))
    keys.add(cache_key(**base, schema_version="other"))
    assert len(keys) == 8


def test_cache_never_stores_failures_and_ignores_damaged_entries(tmp_path):
    cache = CallCache(tmp_path)
    with pytest.raises(ValueError):
        cache.put("k" * 64, {"parse_status": "error"})
    assert cache.get("k" * 64) is None
    cache.put("a" * 64, {"parse_status": "ok", "labels": ["x"]})
    assert cache.get("a" * 64)["labels"] == ["x"]
    with sqlite3.connect(tmp_path / "store.sqlite") as db:  # the entry's bytes damaged in place
        db.execute("UPDATE entries SET value = ? WHERE key = ?", (b"{not json", "a" * 64))
    assert cache.get("a" * 64) is None


def test_partition_keys_are_sanitised():
    assert sanitize_key("My Batch|2026,[x]") == "My_Batch_2026_x"
    assert "|" not in sanitize_key("a|b") and "," not in sanitize_key("a,b")
    with pytest.raises(ValueError):
        sanitize_key("|||")


def test_landing_hash_changes_with_new_bytes(tmp_path):
    folder = tmp_path / "landing" / "street photos"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(b"one")
    (tmp_path / "landing" / "empty").mkdir()
    (first,) = scan_landing(tmp_path / "landing")
    assert first.batch == "street_photos"
    (folder / "a.png").write_bytes(b"two")
    (second,) = scan_landing(tmp_path / "landing")
    assert first.content_hash != second.content_hash
    assert scan_landing(tmp_path / "missing") == []


def test_core_does_not_import_dagster():
    offenders = []
    for path in (ROOT / "workbench_dagster").glob("*.py"):
        if path.name == "definitions.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            if any(n == "dagster" or n.startswith("dagster") for n in names):
                offenders.append(path.name)
    assert offenders == []
