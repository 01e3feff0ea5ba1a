"""An old cache folder (`<root>/xx/<key>.json` or `.npy`, one file per entry) moved into its store.

Runs once per store, on first use: a marker (a `meta` row in SQLite, an object next to the
segments) says it happened, and a line says how many entries came over. Each old file is
checked as a get would check it (`validate`); a damaged one is skipped and counted, as it would
have read as a miss. The old files are left where they are, so a run of an older version still
finds them; once every run uses the store, `rm -r <root>/??` frees them.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator

from upath import UPath

logger = logging.getLogger(__name__)

MARKER = "legacy_migrated"
_KEY = re.compile(r"^[0-9a-f]{64}$")
_BATCH = 5000


def legacy_entries(root: UPath, suffix: str, validate) -> Iterator[tuple[str, bytes] | None]:
    """(key, bytes) per old file that reads back; None for one that is damaged."""
    if not root.exists():
        return
    for shard in sorted(root.iterdir()):
        if not (shard.is_dir() and len(shard.name) == 2):
            continue
        for path in sorted(shard.iterdir()):
            key = path.name.removesuffix(suffix)
            if not path.name.endswith(suffix) or not _KEY.match(key) or not key.startswith(shard.name):
                continue
            try:
                data = path.read_bytes()
            except OSError:
                yield None
                continue
            yield (key, data) if validate(data) else None


def report(root, migrated: int, damaged: int) -> str:
    line = (
        f"cache {root}: migrated {migrated} entries from the one-file-per-entry layout"
        f" ({damaged} damaged files skipped); the old files are left in place"
    )
    logger.info(line)
    print(line, flush=True)
    return line


def migrate_sqlite(store, conn: sqlite3.Connection) -> int | None:
    """Migrates inside one write transaction: a second process opening the store meanwhile waits,
    then finds the marker, so the old files are read once and no reader sees half a migration.
    Existing entries win (`INSERT OR IGNORE`): they were put by this version. Returns how many
    entries came over, None when the marker was already there."""
    if conn.execute("SELECT 1 FROM meta WHERE name = ?", (MARKER,)).fetchone():
        return None
    from workbench_dagster.storage.cache_store import checksum

    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM meta WHERE name = ?", (MARKER,)).fetchone():
            conn.execute("ROLLBACK")
            return None
        migrated = damaged = 0
        batch: list[tuple[str, bytes, int]] = []
        for entry in legacy_entries(UPath(store.root), store.legacy_suffix, store.validate):
            if entry is None:
                damaged += 1
                continue
            batch.append((entry[0], entry[1], checksum(*entry)))
            if len(batch) >= _BATCH:
                conn.executemany("INSERT OR IGNORE INTO entries (key, value, crc) VALUES (?, ?, ?)", batch)
                migrated, batch = migrated + len(batch), []
        conn.executemany("INSERT OR IGNORE INTO entries (key, value, crc) VALUES (?, ?, ?)", batch)
        migrated += len(batch)
        conn.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (MARKER, f"{migrated} {damaged}"))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if migrated or damaged:
        report(store.root, migrated, damaged)
    return migrated


def migrate_segments(store) -> int | None:
    """Object stores have no transaction: the old files go into segments (a second process doing
    the same at once only writes duplicates, which read the same), then the marker object."""
    marker = store.dir / f"_{MARKER}"
    if marker.exists():
        return None
    migrated = damaged = 0
    batch: list[tuple[str, bytes]] = []
    for entry in legacy_entries(store.root, store.legacy_suffix, store.validate):
        if entry is None:
            damaged += 1
            continue
        batch.append(entry)
        if len(batch) >= _BATCH:
            store.write_segment(batch, compact=False)
            migrated, batch = migrated + len(batch), []
    if batch:
        store.write_segment(batch, compact=False)
        migrated += len(batch)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{migrated} {damaged}\n")
    if migrated or damaged:
        report(store.root, migrated, damaged)
    return migrated
