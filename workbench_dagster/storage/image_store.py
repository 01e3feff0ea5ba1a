"""Content-addressed images, on a local folder or `s3://`.

Images are named by their sha256, so the same bytes are stored once and a re-render that
produces identical bytes writes nothing.
"""

from __future__ import annotations

import hashlib
import os

from upath import UPath

from workbench_dagster.storage.atomic import _is_local, write_bytes_atomic

IMAGE_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
        """One GET on an object store: `cat_file` without concurrency (s3fs would first ask for the size, a
        HEAD, to split a large object into ranges; an image is small), as opening the file would too."""
        path = UPath(uri)
        if _is_local(path):
            return path.read_bytes()
        return path.fs.cat_file(path.path, max_concurrency=1)
