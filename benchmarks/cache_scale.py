"""A cache of 10^6 entries in one store, against the one-file-per-entry layout it replaces.

Writes `--entries` caption-like records into a `CallCache` (local SQLite store) in `put_many`
batches of `--batch`, as `cached_per_text` and the embed path do, reads them all back with
`get_many`, and counts the files created. Single-entry `put`/`get` (the caption loop's way) are
timed on `--single` entries; the old layout (one JSON file per entry, written to a temporary
name and renamed, sharded by key prefix) on `--old` entries, in the same run. The last line is
the ratio of put throughputs.

    python benchmarks/cache_scale.py [--entries 1000000] [--batch 1000] [--single 5000] [--old 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from upath import UPath  # noqa: E402

from workbench_dagster.captioning.call_cache import CallCache  # noqa: E402
from workbench_dagster.storage.atomic import write_bytes_atomic  # noqa: E402


def record(i: int) -> dict:
    """About the size of a cached caption row."""
    return {
        "parse_status": "ok",
        "model": "fake-gpt",
        "image_id": f"img-{i:08d}",
        "caption": f"A crowd holds signs near the square, image {i}, under a grey sky.",
        "labels": ["protest_signs", "crowd", "police_line"][: 1 + i % 3],
        "input_tokens": 812,
        "output_tokens": 64,
        "cost_usd": 0.00041,
    }


def keys(n: int, salt: str) -> list[str]:
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(n)]


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} entries/s ({n:,} in {seconds:.1f} s)"


def bench_store(root: Path, n: int, batch: int) -> tuple[float, float]:
    cache, ks = CallCache(root), keys(n, "batch")
    started = time.perf_counter()
    for start in range(0, n, batch):
        cache.put_many({k: record(start + j) for j, k in enumerate(ks[start : start + batch])})
    put_s = time.perf_counter() - started
    started, found = time.perf_counter(), 0
    reader = CallCache(root)
    for start in range(0, n, batch):
        found += len(reader.get_many(ks[start : start + batch]))
    get_s = time.perf_counter() - started
    assert found == n, f"read back {found} of {n}"
    print(f"store put_many (batches of {batch}): {rate(n, put_s)}")
    print(f"store get_many (batches of {batch}): {rate(n, get_s)}")
    return n / put_s, n / get_s


def bench_single(root: Path, n: int) -> tuple[float, float]:
    cache, ks = CallCache(root), keys(n, "single")
    started = time.perf_counter()
    for i, k in enumerate(ks):
        cache.put(k, record(i))
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    found = sum(cache.get(k) is not None for k in ks)
    get_s = time.perf_counter() - started
    assert found == n
    print(f"store put (one at a time): {rate(n, put_s)}")
    print(f"store get (one at a time): {rate(n, get_s)}")
    return n / put_s, n / get_s


def bench_old(root: Path, n: int) -> tuple[float, float]:
    """The layout before the stores, as it was: write_bytes_atomic per entry, json per read."""
    ks = keys(n, "old")
    started = time.perf_counter()
    for i, k in enumerate(ks):
        write_bytes_atomic(UPath(root) / k[:2] / f"{k}.json", json.dumps(record(i), sort_keys=True).encode())
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    found = sum(json.loads((root / k[:2] / f"{k}.json").read_text()) is not None for k in ks)
    get_s = time.perf_counter() - started
    assert found == n
    print(f"old one-file-per-entry put: {rate(n, put_s)}")
    print(f"old one-file-per-entry get: {rate(n, get_s)}")
    return n / put_s, n / get_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--single", type=int, default=5000)
    parser.add_argument("--old", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        store_root, old_root = Path(tmp) / "calls", Path(tmp) / "old"
        put_rate, get_rate = bench_store(store_root, args.entries, args.batch)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:,.0f} MiB" for p in sorted(store_root.iterdir()))
        print(f"store files for {args.entries:,} entries: {count_files(store_root)} ({sizes})")
        single_put, single_get = bench_single(Path(tmp) / "single", args.single)
        old_put, old_get = bench_old(old_root, args.old)
        old_files = count_files(old_root)
        print(f"old layout files for {args.old:,} entries: {old_files:,} (one per entry)")
        print(f"new/old get throughput = {get_rate / old_get:.1f} (batched); {single_get / old_get:.2f} (single)")
        print(f"new/old single put throughput = {single_put / old_put:.2f}")
        print(f"new/old put throughput = {put_rate / old_put:.1f} (batched put_many of {args.batch})")


if __name__ == "__main__":
    main()
