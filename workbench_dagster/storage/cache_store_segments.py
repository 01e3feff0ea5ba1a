"""A cache on an object store (`s3://...`): append-only Parquet segments and an index read on open.

SQLite needs a file system with locks, so an object-store root holds
`<root>/segments/<ns>-<uuid>-n<rows>.parquet` objects instead (columns key, value, crc). A put
writes one new segment with one PUT, which is all-or-nothing and never overwrites another
writer's object: a killed run keeps every acknowledged put, and concurrent writers need no lock.

On first use the store lists the segments and reads their `key` columns into an index
(key -> segment, row); a get fetches the segments that hold its keys, a few kept in memory.
Segments written later by other processes are found when the index is re-read (`refresh()`,
or a segment gone by compaction): until then a key they hold is a miss, which costs one
recomputation and never a wrong answer.

Compaction keeps the object count down when puts come one at a time: once `COMPACT_AT` small
segments exist, a writer merges them into one segment, writes it, and only then deletes them,
so a reader finds each entry in one or the other.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from workbench_dagster.storage.cache_store import CacheStore, Validate, checksum

logger = logging.getLogger(__name__)

SMALL_ROWS = 10_000  # a segment under this many rows is merged by compaction
COMPACT_AT = 64  # small segments that trigger a compaction
KEPT_SEGMENTS = 8  # decoded segments kept in memory for gets
_SCHEMA = pa.schema([("key", pa.string()), ("value", pa.binary()), ("crc", pa.int64())])


def _rows_of(name: str) -> int:
    try:
        return int(name.rsplit("-n", 1)[1].removesuffix(".parquet"))
    except (IndexError, ValueError):
        return SMALL_ROWS


class SegmentStore(CacheStore):
    def __init__(self, root: UPath, *, legacy_suffix: str = "", validate: Validate | None = None):
        self.root = UPath(root)
        self.dir = self.root / "segments"
        self.legacy_suffix = legacy_suffix
        self.validate = validate
        self._index: dict[str, tuple[str, int]] | None = None
        self._segments: set[str] = set()
        self._made = False  # the segments folder: made once, not checked per put
        self._lock = threading.RLock()  # the caption loop's threads share one cache object
        self._decoded: OrderedDict[str, tuple[list, list]] = OrderedDict()

    def __getstate__(self) -> dict:
        return {"root": self.root, "dir": self.dir, "legacy_suffix": self.legacy_suffix, "validate": self.validate}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["root"], legacy_suffix=state["legacy_suffix"], validate=state["validate"])

    def _list(self) -> list[str]:
        """The segments now: the file system's listing cache is dropped first, or another process's
        segments (and a compaction's deletions) would stay unseen for this object's life."""
        with contextlib.suppress(AttributeError, NotImplementedError):
            self.dir.fs.invalidate_cache(self.dir.path)
        if not self.dir.exists():
            return []
        return sorted(p.name for p in self.dir.iterdir() if p.name.endswith(".parquet"))

    def refresh(self) -> None:
        """Re-reads the listing: segments other processes wrote since become visible, and ones a
        compaction removed leave the index."""
        names = self._list()
        index: dict[str, tuple[str, int]] = {}
        for name in names:  # sorted by time written: a later segment's value wins
            try:
                keys = self._read(name, columns=["key"]).column("key").to_pylist()
            except FileNotFoundError:
                continue  # compacted away between the listing and the read
            except (OSError, pa.ArrowException) as exc:
                logger.warning("cache segment %s is unreadable (%s): its entries read as misses", name, exc)
                continue
            index.update((key, (name, row)) for row, key in enumerate(keys))
        self._index, self._segments = index, set(names)

    def _read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """One GET for a small segment; a large (compacted) one may be fetched in concurrent ranges,
        which costs s3fs a HEAD for its size first."""
        path = self.dir / name
        small = _rows_of(name) < SMALL_ROWS
        data = path.fs.cat_file(path.path, **({"max_concurrency": 1} if small else {}))
        return pq.read_table(io.BytesIO(data), columns=columns)

    def _ensure(self) -> dict[str, tuple[str, int]]:
        if self._index is None:
            if self.legacy_suffix:
                from workbench_dagster.storage.cache_store_migrate import migrate_segments

                self._index = {}
                migrate_segments(self)
            self.refresh()
        return self._index

    def _segment(self, name: str) -> tuple[list, list] | None:
        if name in self._decoded:
            self._decoded.move_to_end(name)
            return self._decoded[name]
        try:
            table = self._read(name, columns=["value", "crc"])
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException) as exc:
            logger.warning("cache segment %s is unreadable (%s): its entries read as misses", name, exc)
            return ([], [])
        decoded = (table.column("value").to_pylist(), table.column("crc").to_pylist())
        self._decoded[name] = decoded
        while len(self._decoded) > KEPT_SEGMENTS:
            self._decoded.popitem(last=False)
        return decoded

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        with self._lock:
            return self._get_many(list(dict.fromkeys(keys)))

    def _get_many(self, wanted: list[str]) -> dict[str, bytes]:
        found, gone = self._lookup(wanted), False
        for key in wanted:
            if key not in found and key in self._index:
                gone = True  # its segment was compacted away: read the listing again, once
        if gone:
            self.refresh()
            found.update(self._lookup([k for k in wanted if k not in found]))
        return found

    def _lookup(self, keys: list[str]) -> dict[str, bytes]:
        index, by_segment, found = self._ensure(), {}, {}
        for key in keys:
            if key in index:
                name, row = index[key]
                by_segment.setdefault(name, []).append((key, row))
        for name, wanted in by_segment.items():
            segment = self._segment(name)
            if segment is None:
                continue
            values, crcs = segment
            for key, row in wanted:
                if row < len(values) and values[row] is not None and checksum(key, values[row]) == crcs[row]:
                    found[key] = values[row]
                elif row < len(values):
                    index.pop(key, None)  # damaged: a miss, and the next put replaces it
        return found

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        rows = list(dict(items).items())
        if rows:
            with self._lock:
                self._ensure()
                self.write_segment(rows)
        return len(rows)

    def write_segment(self, rows: list[tuple[str, bytes]], *, compact: bool = True) -> str:
        keys = [k for k, _ in rows]
        values = [v for _, v in rows]
        table = pa.table({"key": keys, "value": values, "crc": [checksum(k, v) for k, v in rows]}, schema=_SCHEMA)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}-n{len(rows)}.parquet"
        if not self._made:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._made = True
        (self.dir / name).write_bytes(buffer.getvalue())  # one PUT: the whole segment or nothing
        if self._index is not None:
            self._index.update((key, (name, row)) for row, key in enumerate(keys))
            self._segments.add(name)
            self._decoded[name] = (values, table.column("crc").to_pylist())
            while len(self._decoded) > KEPT_SEGMENTS:
                self._decoded.popitem(last=False)
        if compact and sum(_rows_of(n) < SMALL_ROWS for n in self._segments) >= COMPACT_AT:
            self.compact()
        return name

    def compact(self) -> int:
        """Merges the small segments (this process's and others') into one; the merged one is
        written before any is deleted, so every entry is in one or the other at every moment."""
        small = [n for n in self._list() if _rows_of(n) < SMALL_ROWS]
        if len(small) < 2:
            return 0
        merged: dict[str, bytes] = {}
        done = []  # only a segment read whole is deleted: one that failed to read stays as it is
        for name in small:  # oldest first: a later value wins
            try:
                table = self._read(name)
            except (OSError, pa.ArrowException):
                continue  # gone (another writer compacted it) or unreadable now
            done.append(name)
            columns = (table.column(c).to_pylist() for c in ("key", "value", "crc"))
            merged.update((k, v) for k, v, crc in zip(*columns) if v is not None and checksum(k, v) == crc)
        if merged:
            self.write_segment(list(merged.items()), compact=False)
        for name in done:
            self._segments.discard(name)
            self._decoded.pop(name, None)
            with contextlib.suppress(FileNotFoundError):  # another writer compacted it first
                (self.dir / name).unlink()
        return len(done)

    def items(self) -> Iterator[tuple[str, bytes]]:
        by_segment: dict[str, list[str]] = {}
        with self._lock:
            index = dict(self._ensure())
        for key, (name, _) in index.items():
            by_segment.setdefault(name, []).append(key)
        for name in sorted(by_segment):
            yield from self.get_many(by_segment[name]).items()

    def __len__(self) -> int:
        with self._lock:
            return len(self._ensure())
