"""Image folders dropped into the landing area become batches.

A folder's content hash covers every file name and its bytes, so a file that lands again
with new bytes changes the hash and so the sensor's run key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from workbench_dagster.keys import sanitize_key


@dataclass(frozen=True)
class LandedFile:
    name: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class LandingBatch:
    batch: str
    folder: Path
    files: tuple[LandedFile, ...]

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for landed in self.files:
            digest.update(f"{landed.name}\0{landed.sha256}\n".encode())
        return digest.hexdigest()


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def read_landing_folder(folder: Path) -> LandingBatch:
    files = tuple(
        LandedFile(name=p.name, path=p, sha256=hashlib.sha256(p.read_bytes()).hexdigest())
        for p in _visible_files(folder)
    )
    return LandingBatch(batch=landing_batch_key(folder.name), folder=folder, files=files)


def landing_batch_key(folder_name: str) -> str:
    return sanitize_key(folder_name)


def scan_landing(landing_dir: Path) -> list[LandingBatch]:
    """Folders with at least one file; empty or hidden folders are still being copied or are not batches."""
    if not landing_dir.is_dir():
        return []
    batches = []
    for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        batch = read_landing_folder(folder)
        if batch.files:
            batches.append(batch)
    return batches


def find_landing_folder(landing_dir: Path, batch: str) -> Path | None:
    if not landing_dir.is_dir():
        return None
    for folder in sorted(p for p in landing_dir.iterdir() if p.is_dir()):
        if landing_batch_key(folder.name) == batch:
            return folder
    return None
