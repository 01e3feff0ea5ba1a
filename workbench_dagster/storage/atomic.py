"""Files written whole or not at all, on a local folder or `s3://`.

A file is written to a temporary name and renamed, so a reader (a sensor, a reviewer, the
warehouse build) never sees half a Parquet file or half a queue.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pandas as pd
from upath import UPath


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


def write_parquet_atomic(df: pd.DataFrame, path: UPath) -> None:
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    write_bytes_atomic(UPath(path), buffer.getvalue())


def read_parquet(path: UPath) -> pd.DataFrame:
    with UPath(path).open("rb") as handle:
        return pd.read_parquet(handle)
