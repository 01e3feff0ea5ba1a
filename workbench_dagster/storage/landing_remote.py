"""The landing area on an object store: batch "folders" are key prefixes under `landing_dir`.

Kept apart from `landing.py`, whose checks (symlinks, FIFOs, O_NOFOLLOW) belong to a local file
system. Here one recursive listing (`fs.find`, a few LIST requests per thousand objects) gives every
object of a folder with its size and modification time; its bytes are read once, for its hash.
An object deeper than `max_depth` folders or with a hidden name is a refused row, never read, as on
a local folder.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime

from upath import UPath


def _listing_dropped(path: UPath) -> None:
    """s3fs caches listings for the life of the file system object: a sensor would never see a new drop."""
    with contextlib.suppress(AttributeError, NotImplementedError):
        path.fs.invalidate_cache(path.path)


def prefixes(landing_dir: UPath) -> list[UPath]:
    """The batch folders: the first-level prefixes under `landing_dir`, sorted."""
    _listing_dropped(landing_dir)
    if not landing_dir.is_dir():
        return []
    return sorted((p for p in landing_dir.iterdir() if p.is_dir()), key=lambda p: p.name)


def walk(folder: UPath, max_depth: int, hidden, landed_file) -> list:
    """Every object under `folder` as a `LandedFile` (the class is passed in: landing.py imports this)."""
    _listing_dropped(folder)
    base = folder.path.rstrip("/") + "/"
    files = []
    for key in sorted(folder.fs.find(folder.path)):
        name = key[len(base) :] if key.startswith(base) else key.rsplit("/", 1)[-1]
        parts = name.split("/")
        path = folder.joinpath(*parts)
        if any(hidden(part) for part in parts):
            files.append(
                landed_file(
                    name, path, None, "hidden name (starts with '.' or '_') not read; rename it to ingest it"
                )
            )
        elif len(parts) > max_depth:
            files.append(landed_file(name, path, None, f"folder nested deeper than {max_depth} levels not read"))
        else:
            try:
                data = path.read_bytes()
            except OSError as exc:  # vanished between the listing and the read: a row with the reason
                files.append(landed_file(name, path, None, str(exc.strerror or exc)))
                continue
            files.append(landed_file(name, path, hashlib.sha256(data).hexdigest()))
    return files


def last_change(batch) -> float:
    """The newest LastModified of the folder's objects (an object store has no folder mtime)."""
    times = [0.0]
    for landed in batch.files:
        try:
            modified = UPath(landed.path).stat().st_mtime
        except (OSError, AttributeError):
            continue
        times.append(modified.timestamp() if isinstance(modified, datetime) else float(modified))
    return max(times)
