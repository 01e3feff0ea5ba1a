"""Image folders dropped into the landing area become batches.

Every entry of a batch folder ends as a row: a regular file is read (and later ingested or
refused as undecodable), anything else is refused with its reason and never read. Subfolders
are walked, with the relative path as the file's name, because people drop folders as they
organise them; refusing them would make every such drop a manual chore. Hidden names (`.` or
`_` first) are refused, not read: they are partial copies, OS metadata (`.DS_Store`, `._x.png`)
or scratch space far more often than images meant for the corpus. Symlinks and special files
are refused because following them reads whatever they point at (`/etc/passwd`) and a FIFO
would block the reader.

On an object store (`landing_dir: s3://bucket/prefix/landing`) a "folder" is a key prefix: there are no
symlinks or special files to refuse, so every object is read unless its name is hidden or it lies
deeper than MAX_DEPTH (`landing_remote`).

A folder's content hash covers every name and, for a file that was read, its bytes; a refused
entry contributes only its name and reason, so a symlink's target changing triggers nothing.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from upath import UPath

from workbench_dagster.keys import sanitize_key
from workbench_dagster.storage.atomic import _is_local

MAX_DEPTH = 8
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class NotIngested(OSError):
    """A landing entry that is deliberately not read; an OSError so readers handle it like an unreadable file."""


@dataclass(frozen=True)
class LandedFile:
    name: str  # posix path relative to the batch folder
    path: Path
    sha256: str | None
    refused: str | None = None  # why the entry was not read; None when it was


@dataclass(frozen=True)
class LandingBatch:
    batch: str
    folder: Path
    files: tuple[LandedFile, ...]

    def last_change(self) -> float:
        """The newest modification time of the folder or any entry: a folder still being copied has
        one within the last seconds."""
        if not _is_local(UPath(self.folder)):
            from workbench_dagster.storage.landing_remote import last_change

            return last_change(self)
        times = [self.folder.stat().st_mtime]
        for landed in self.files:
            try:
                times.append(os.lstat(landed.path).st_mtime)
            except OSError:
                continue
        return max(times)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for landed in self.files:
            digest.update(f"{landed.name}\0{landed.sha256 or 'refused: ' + str(landed.refused)}\n".encode())
        return digest.hexdigest()


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _refusal(path: Path, mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "symlink not followed"
    if _hidden(path.name):
        return "hidden name (starts with '.' or '_') not read; rename it to ingest it"
    if stat.S_ISDIR(mode):
        return f"folder nested deeper than {MAX_DEPTH} levels not read"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device) not read"
    return None


def read_landed_bytes(path: Path) -> bytes:
    """The bytes of a landed regular file, never through a symlink and never blocking on a FIFO.

    The checks run again on the opened descriptor, so an entry swapped for a symlink between the
    scan and the read is still refused."""
    if not _is_local(UPath(path)):
        return UPath(path).read_bytes()  # an object: no symlink or FIFO to refuse
    path = Path(path)
    reason = _refusal(path, os.lstat(path).st_mode)
    if reason:
        raise NotIngested(reason)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        if os.path.islink(path):
            raise NotIngested("symlink not followed") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotIngested("not a regular file (a FIFO, socket or device) not read")
        return handle.read()


def _landed(folder: Path, path: Path) -> LandedFile:
    name = path.relative_to(folder).as_posix()
    try:
        data = read_landed_bytes(path)
    except OSError as exc:  # refused, vanished or unreadable: a row with the reason, never a crash
        return LandedFile(name=name, path=path, sha256=None, refused=str(exc.strerror or exc))
    return LandedFile(name=name, path=path, sha256=hashlib.sha256(data).hexdigest())


def _walk(folder: Path, current: Path, depth: int) -> list[LandedFile]:
    try:
        entries = sorted(current.iterdir())
    except OSError as exc:  # a folder that cannot be listed is one refused entry, not a crashed sensor
        return [
            LandedFile(
                name=current.relative_to(folder).as_posix(),
                path=current,
                sha256=None,
                refused=f"folder not listed: {exc.strerror or exc}",
            )
        ]
    files = []
    for path in entries:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            mode = 0
        if stat.S_ISDIR(mode) and not _hidden(path.name) and depth < MAX_DEPTH:
            files.extend(_walk(folder, path, depth + 1))
        else:
            files.append(_landed(folder, path))
    return files


def read_landing_folder(folder: Path) -> LandingBatch:
    if not _is_local(UPath(folder)):
        from workbench_dagster.storage.landing_remote import walk

        files = tuple(walk(UPath(folder), MAX_DEPTH, _hidden, LandedFile))
        return LandingBatch(batch=landing_batch_key(folder.name), folder=folder, files=files)
    files = tuple(_walk(folder, folder, 1))
    return LandingBatch(batch=landing_batch_key(folder.name), folder=folder, files=files)


def landing_batch_key(folder_name: str) -> str:
    return sanitize_key(folder_name)


def _batch_folders(landing_dir: Path) -> list[Path]:
    """Real folders only: a symlinked folder would ingest whatever it points at."""
    if not _is_local(UPath(landing_dir)):
        from workbench_dagster.storage.landing_remote import prefixes

        return prefixes(UPath(landing_dir))
    return sorted(p for p in landing_dir.iterdir() if p.is_dir() and not p.is_symlink())


def scan_landing(landing_dir: Path) -> list[LandingBatch]:
    """Folders with at least one visible entry; empty or hidden folders, or folders holding only
    hidden entries, are still being copied or are not batches."""
    landing_dir = _as_path(landing_dir)
    if not landing_dir.is_dir():
        return []
    batches = []
    for folder in _batch_folders(landing_dir):
        if _hidden(folder.name):
            continue
        batch = read_landing_folder(folder)
        if any(not _hidden(Path(f.name).name) for f in batch.files):
            batches.append(batch)
    return batches


def find_landing_folder(landing_dir: Path, batch: str) -> Path | None:
    landing_dir = _as_path(landing_dir)
    if not landing_dir.is_dir():
        return None
    for folder in _batch_folders(landing_dir):
        if landing_batch_key(folder.name) == batch:
            return folder
    return None


def _as_path(landing_dir) -> Path:
    """A local folder as a Path (as always), an object-store prefix as its UPath."""
    path = UPath(landing_dir)
    return Path(path.path) if _is_local(path) else path
