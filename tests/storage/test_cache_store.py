"""The cache stores, on a real SQLite file and on a real S3 API (moto's server on a local port,
reached through UPath and s3fs): every guarantee the one-file-per-entry caches gave, kept; and
what only the object-store layout has: compaction of small segments, and a reader whose index
names a segment another process compacted away."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import sqlite3
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from upath import UPath

from workbench_dagster.captioning.call_cache import CallCache, VectorCache, cached_per_text
from workbench_dagster.storage import cache_store_segments

BUCKET = "workbench-cache"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    s3fs = pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # children (fork) inherit the endpoint and the keys
    s3fs.S3FileSystem.clear_instance_cache()  # a file system cached for another endpoint
    UPath(f"s3://{BUCKET}").fs.mkdir(BUCKET)
    yield
    for k, v in saved.items():
        os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


@pytest.fixture(params=["sqlite", "s3"])
def root(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "calls")
    request.getfixturevalue("s3_server")
    return f"s3://{BUCKET}/{request.node.name.replace('[', '_').replace(']', '')}-{time.time_ns()}"


def key(i: int, salt: str = "") -> str:
    return f"{salt}{i:064d}"[-64:]


def test_put_get_roundtrip_and_a_second_process_reads_it(root):
    cache = CallCache(root)
    cache.put(key(1), {"parse_status": "ok", "labels": ["x"], "caption": "é"})
    cache.put_many({key(2): {"parse_status": "repaired"}, key(3): {"lang": "fr"}})
    assert cache.get(key(1)) == {"parse_status": "ok", "labels": ["x"], "caption": "é"}
    assert key(2) in cache and key(4) not in cache and cache.get(key(4)) is None
    again = CallCache(root)  # a fresh object: what another process opening the store sees
    assert again.get_many([key(1), key(3), key(4)]) == {
        key(1): {"parse_status": "ok", "labels": ["x"], "caption": "é"},
        key(3): {"lang": "fr"},
    }
    assert len(again) == 3 and dict(again.items())[key(2)] == {"parse_status": "repaired"}
    vectors = VectorCache(str(root) + "-vectors")
    vectors.put_many({"a": np.arange(4), "b": np.ones(2)})
    back = VectorCache(str(root) + "-vectors").get_many(["a", "b", "c"])
    assert back["a"].dtype == np.float32 and back["a"].tolist() == [0, 1, 2, 3] and set(back) == {"a", "b"}


def test_failures_are_refused_and_a_batch_with_one_writes_nothing(root):
    cache = CallCache(root)
    for status in ("invalid", "error"):
        with pytest.raises(ValueError, match="never cached"):
            cache.put(key(1), {"parse_status": status})
    with pytest.raises(ValueError, match=key(9)):
        cache.put_many({key(8): {"parse_status": "ok"}, key(9): {"parse_status": "error"}})
    assert CallCache(root).get_many([key(1), key(8), key(9)]) == {}


def test_cached_per_text_computes_only_what_is_missing(root):
    cache, calls = CallCache(root), []

    def compute(texts):
        calls.append(list(texts))
        return [{"n": len(t)} for t in texts]

    first, n1 = cached_per_text(cache, "r1", ["a", "bb"], compute)
    second, n2 = cached_per_text(CallCache(root), "r1", ["bb", "ccc", "a"], compute)
    assert (n1, n2) == (2, 1) and calls == [["a", "bb"], ["ccc"]]
    assert second == [{"n": 2}, {"n": 3}, {"n": 1}] and first == [{"n": 1}, {"n": 2}]


def _writer(root: str, salt: str, n: int) -> None:
    cache = CallCache(root)
    for i in range(n):
        if i % 5 == 0:
            cache.put_many({key(i, salt): {"i": i}, key(i, salt + "m"): {"i": -i}})
        else:
            cache.put(key(i, salt), {"i": i})


def test_two_processes_writing_at_once_lose_nothing(root):
    CallCache(root).put(key(0, "seed"), {"i": 0})  # the store exists, as in a run
    n = 80 if str(root).startswith("s3") else 400  # s3: each process passes COMPACT_AT segments
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(root), salt, n)) for salt in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    expected = {key(i, s): {"i": i} for s in ("p1", "p2") for i in range(n)}
    expected |= {key(i, s + "m"): {"i": -i} for s in ("p1", "p2") for i in range(0, n, 5)}
    assert CallCache(root).get_many(expected) == expected


def _put_forever(root: str, ack_fd: int) -> None:
    cache = CallCache(root)
    for i in range(10**9):
        record = {"i": i, "caption": "x" * (i % 700)}
        if i % 3:
            cache.put(key(i), record)
        else:
            cache.put_many({key(i): record, key(i, "b"): record})
        os.write(ack_fd, f"{i}\n".encode())  # acknowledged: put has returned


def test_a_process_killed_mid_write_keeps_every_acknowledged_put(root):
    read_fd, write_fd = os.pipe()
    child = multiprocessing.get_context("fork").Process(target=_put_forever, args=(str(root), write_fd))
    child.start()
    os.close(write_fd)
    acked, buffer = [], b""
    target = 30 if str(root).startswith("s3") else 300
    deadline = time.monotonic() + 120
    while len(acked) < target and time.monotonic() < deadline:
        buffer += os.read(read_fd, 4096)
        *lines, buffer = buffer.split(b"\n")
        acked += [int(x) for x in lines]
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    os.close(read_fd)
    assert child.exitcode == -signal.SIGKILL and len(acked) >= target
    cache = CallCache(root)
    found = cache.get_many([key(i) for i in acked])
    assert found == {key(i): {"i": i, "caption": "x" * (i % 700)} for i in acked}
    assert all(record["i"] >= 0 for _, record in cache.items())  # nothing half-written reads back
    cache.put(key(10**6), {"after": True})  # and the store takes new puts
    assert CallCache(root).get(key(10**6)) == {"after": True}


def _old_layout(root: UPath, suffix: str, entries: dict[str, bytes]) -> None:
    for k, data in entries.items():
        path = root / k[:2] / f"{k}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_an_old_one_file_per_entry_folder_is_migrated_once(root, capsys):
    good = {key(i): json.dumps({"parse_status": "ok", "i": i}).encode() for i in range(25)}
    damaged = {key(99): b"{not json", key(98): json.dumps({"parse_status": "error"}).encode()}
    _old_layout(UPath(root), ".json", good | damaged)
    cache = CallCache(root)
    assert cache.get(key(3)) == {"parse_status": "ok", "i": 3}
    out = capsys.readouterr().out
    assert "migrated 25 entries" in out and "2 damaged files skipped" in out and "left in place" in out
    assert len(cache) == 25 and cache.get(key(99)) is None
    assert CallCache(root).get(key(24)) == {"parse_status": "ok", "i": 24}
    assert "migrated" not in capsys.readouterr().out  # the marker: once
    assert (UPath(root) / key(3)[:2] / f"{key(3)}.json").exists()  # old files left
    vectors_root = UPath(str(root) + "-vectors")
    buffer = __import__("io").BytesIO()
    np.save(buffer, np.arange(3, dtype=np.float32))
    _old_layout(vectors_root, ".npy", {key(7): buffer.getvalue(), key(8): b"\x93NUMPY broken"})
    assert VectorCache(vectors_root).get(key(7)).tolist() == [0, 1, 2]
    assert "migrated 1 entries" in capsys.readouterr().out


def _damage(root: str, k: str) -> None:
    """Damages one entry's bytes where they are stored, keeping its checksum."""
    if not root.startswith("s3"):
        with sqlite3.connect(UPath(root).path + "/store.sqlite") as db:
            db.execute("UPDATE entries SET value = ? WHERE key = ?", (b'{"parse_status": "ok", "i": 4', k))
        return
    for segment in (UPath(root) / "segments").glob("*.parquet"):
        table = pq.read_table(segment.open("rb"))
        keys = table.column("key").to_pylist()
        if k in keys:
            values = table.column("value").to_pylist()
            values[keys.index(k)] = b'{"parse_status": "ok", "i": 4'
            import pyarrow as pa

            damaged = table.set_column(1, "value", pa.array(values, pa.binary()))
            with segment.open("wb") as out:
                pq.write_table(damaged, out)


def test_a_damaged_entry_reads_as_a_miss_and_the_next_put_replaces_it(root):
    cache = CallCache(root)
    cache.put_many({key(i): {"parse_status": "ok", "i": i} for i in range(5)})
    _damage(str(root), key(4))
    fresh = CallCache(root)
    assert fresh.get(key(4)) is None and key(4) not in fresh
    assert fresh.get(key(3)) == {"parse_status": "ok", "i": 3}
    fresh.put(key(4), {"parse_status": "ok", "i": 4})
    assert CallCache(root).get(key(4)) == {"parse_status": "ok", "i": 4}


def test_a_corrupt_sqlite_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "calls").mkdir()
    (tmp_path / "calls" / "store.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="store.sqlite"):
        CallCache(tmp_path / "calls").get(key(1))


def test_single_puts_are_compacted_and_every_entry_still_reads(s3_server, monkeypatch):
    monkeypatch.setattr(cache_store_segments, "COMPACT_AT", 10)
    root = f"s3://{BUCKET}/compaction"
    reader = CallCache(root)
    reader.put(key(0), {"i": 0})
    assert reader.get(key(0)) == {"i": 0}  # its index now names the first segment
    writer = CallCache(root)
    for i in range(1, 25):
        writer.put(key(i), {"i": i})
    segments = list((UPath(root) / "segments").glob("*.parquet"))
    assert len(segments) < 10  # 25 puts, yet fewer objects: merged, and the small ones deleted
    assert reader.get(key(0)) == {"i": 0}  # its segment is gone: the reader re-lists and finds it
    assert CallCache(root).get_many([key(i) for i in range(25)]) == {key(i): {"i": i} for i in range(25)}


def test_a_segment_that_is_not_parquet_reads_as_misses_not_an_error(s3_server):
    root = f"s3://{BUCKET}/unreadable"
    cache = CallCache(root)
    cache.put_many({key(1): {"i": 1}, key(2): {"i": 2}})
    cache.put(key(3), {"i": 3})
    first = sorted((UPath(root) / "segments").glob("*.parquet"))[0]
    first.write_bytes(b"PAR1 garbage")
    fresh = CallCache(root)
    assert fresh.get_many([key(1), key(2), key(3)]) == {key(3): {"i": 3}}
