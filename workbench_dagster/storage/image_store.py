"""Content-addressed images and atomically written tables, on a local folder or `s3://`.

Images are named by their sha256, so the same bytes are stored once and a re-render that
produces identical bytes writes nothing. Tables are written to a temporary name and renamed,
so a reader never sees half a Parquet file.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import pandas as pd
from upath import UPath

IMAGE_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_local(path: UPath) -> bool:
    return getattr(path, "protocol", "") in ("", "file", "local")


def write_bytes_atomic(path: UPath, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _is_local(path):
        path.write_bytes(data)  # an object-store PUT is already all-or-nothing
        return
    local = Path(path.path)
    tmp = local.with_name(f".{local.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, local)


class ImageStore:
    """`images/<sha256>.<ext>` under a root that is a folder or an S3 prefix."""

    def __init__(self, root: str | os.PathLike):
        self.root = UPath(root)

    def uri_for(self, sha256: str, ext: str) -> str:
        return str(self.root / f"{sha256}.{ext}")

    def put(self, data: bytes, ext: str) -> tuple[str, str, bool]:
        """Returns (sha256, uri, written); `written` is False when the bytes were already stored."""
        digest = sha256_bytes(data)
        path = self.root / f"{digest}.{ext}"
        if path.exists():
            return digest, str(path), False
        write_bytes_atomic(path, data)
        return digest, str(path), True

    def get(self, uri: str) -> bytes:
        return UPath(uri).read_bytes()


def write_parquet_atomic(df: pd.DataFrame, path: UPath) -> None:
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    write_bytes_atomic(UPath(path), buffer.getvalue())


def read_parquet(path: UPath) -> pd.DataFrame:
    with UPath(path).open("rb") as handle:
        return pd.read_parquet(handle)
