"""One store per cache kind, not one file per entry: a cache must hold 10^6 entries.

A local cache folder holds one SQLite file (`<root>/store.sqlite`, WAL mode); an object-store
root (`s3://...`) holds append-only Parquet segments (`cache_store_segments`). Both map a key
to bytes and give the guarantees the call cache relies on:

- a put is atomic and durable once it returns, against the process being killed (SQLite WAL
  commits, one object PUT per segment); a killed run keeps every acknowledged put;
- every value carries a CRC32 of key and bytes, so a damaged entry reads as a miss;
- several processes may read and write at once (Dagster multiprocess steps, concurrent runs):
  SQLite serialises writers with a busy timeout, segments never overwrite one another.

Durability matches the one-file layout it replaces (`synchronous=NORMAL`): a power cut may lose
the last commits, never corrupt the file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from upath import UPath

from workbench_dagster.storage.atomic import _is_local

logger = logging.getLogger(__name__)

STORE_FILE = "store.sqlite"
BUSY_TIMEOUT_S = 600.0  # a writer waits this long for another's transaction (a migration, a batch)
CACHE_KIB = 65536  # page cache per connection: random keys touch pages all over the index
CHECKPOINT_PAGES = 10_000  # ~40 MB of WAL between checkpoints (each is an fsync): 1.5-2x put rate
_IN_CHUNK = 500  # keys per `IN (...)`: under SQLite's bound-variable limit

Validate = Callable[[bytes], bool]
_INHERITED: list[sqlite3.Connection] = []  # SQLite: a connection must not cross a fork, not even to close


def checksum(key: str, value: bytes) -> int:
    """What tells a damaged entry from a good one: the key is covered, so bytes moved under
    another key are damaged too."""
    return zlib.crc32(value, zlib.crc32(key.encode()))


class CacheStore:
    """The contract both stores keep; values are bytes, the caches encode and decode them."""

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        raise NotImplementedError

    def items(self) -> Iterator[tuple[str, bytes]]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


def open_store(root: str | os.PathLike, *, legacy_suffix: str, validate: Validate) -> CacheStore:
    """The store for one cache kind under `root`; the old `<root>/xx/<key><legacy_suffix>` files
    are migrated into it on first use (`cache_store_migrate`), checked by `validate`."""
    root = UPath(root)
    if _is_local(root):
        return SqliteStore(Path(root.path), legacy_suffix=legacy_suffix, validate=validate)
    from workbench_dagster.storage.cache_store_segments import SegmentStore

    return SegmentStore(root, legacy_suffix=legacy_suffix, validate=validate)


class SqliteStore(CacheStore):
    """`<root>/store.sqlite`: one connection per process and thread, opened on first use, so a
    cache object built in a parent survives a fork and is shared by a thread pool."""

    def __init__(self, root: Path, *, legacy_suffix: str = "", validate: Validate | None = None):
        self.root = root
        self.path = root / STORE_FILE
        self.legacy_suffix = legacy_suffix
        self.validate = validate
        self._local = threading.local()
        self._migrated_in: int | None = None

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_local"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            return local.conn
        if getattr(local, "conn", None) is not None:
            _INHERITED.append(local.conn)  # from before a fork: never used, never closed, here
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
            _retry_busy(lambda: _create_tables(conn))
        except sqlite3.DatabaseError as exc:
            raise sqlite3.DatabaseError(f"{self.path}: not a readable cache store ({exc})") from exc
        local.conn, local.pid = conn, os.getpid()
        if self._migrated_in != os.getpid() and self.legacy_suffix:
            from workbench_dagster.storage.cache_store_migrate import migrate_sqlite

            migrate_sqlite(self, conn)
            self._migrated_in = os.getpid()
        return conn

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(keys))
        conn, found = self._connect(), {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            try:
                rows = conn.execute(
                    f"SELECT key, value, crc FROM entries WHERE key IN ({marks})", chunk
                ).fetchall()
            except sqlite3.DatabaseError as exc:  # a damaged page: its entries are misses, said once per read
                logger.warning("%s: %d keys unreadable (%s), read as misses", self.path, len(chunk), exc)
                continue
            found.update((k, bytes(v)) for k, v, crc in rows if checksum(k, bytes(v)) == crc)
        return found

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        rows = [(k, v, checksum(k, v)) for k, v in items]
        if rows:
            self.write_rows(self._connect(), rows)
        return len(rows)

    @staticmethod
    def write_rows(conn: sqlite3.Connection, rows: list[tuple[str, bytes, int]], *, replace: bool = True) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        if len(rows) == 1:  # one statement is its own transaction
            conn.execute(f"{verb} INTO entries (key, value, crc) VALUES (?, ?, ?)", rows[0])
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f"{verb} INTO entries (key, value, crc) VALUES (?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def items(self) -> Iterator[tuple[str, bytes]]:
        for k, v, crc in self._connect().execute("SELECT key, value, crc FROM entries"):
            if checksum(k, bytes(v)) == crc:
                yield k, bytes(v)

    def __len__(self) -> int:
        return self._connect().execute("SELECT count(*) FROM entries").fetchone()[0]


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, crc INTEGER NOT NULL)"
    )  # a rowid table: values of hundreds of bytes make WITHOUT ROWID's B-tree slower to insert into
    conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _retry_busy(statement: Callable[[], object], attempts: int = 200) -> None:
    """Switching to WAL and creating the tables can answer 'locked' at once, without the busy
    handler, while another process does the same: wait and try again."""
    for attempt in range(attempts):
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
