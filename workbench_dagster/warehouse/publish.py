"""The warehouse of a config whose tables live on an object store: built locally, published as one object.

Why not DuckDB's `httpfs` over the Parquet in the bucket: the extension is fetched from
extensions.duckdb.org at `INSTALL`, which an offline VM or CI cannot reach (PyPI's
duckdb-extension-httpfs wheels lag DuckDB's version, and an extension loads only into its own
version), and a file of views over `s3://` would make every analyst hold bucket credentials and pay
a round trip per query. So the build reads the tables once (one GET per Parquet file, into a
temporary folder), builds the same file `build_warehouse` builds locally, and PUTs it to
`warehouse` (`s3://.../warehouse.duckdb`): a PUT is whole or nothing, so an analyst who downloads
it never sees half a build, and nothing is left on the local disk. Path columns (image URIs) are
`s3://` URIs and stay as written.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from upath import UPath

from workbench_dagster.storage.atomic import write_bytes_atomic
from workbench_dagster.warehouse.build import build_warehouse, query


def _download_tables(tables_dir: UPath, folder: Path) -> int:
    """Every Parquet file under `tables_dir`, at the same relative path under `folder`; returns the count."""
    fs, root = tables_dir.fs, tables_dir.path.rstrip("/")
    fs.invalidate_cache(root)  # another process (a run's steps) wrote since this file system listed
    keys = [k for k in fs.find(root) if k.endswith(".parquet")] if fs.exists(root) else []
    for key in keys:
        local = folder / key[len(root) + 1 :]
        local.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(key, str(local))
    return len(keys)


def publish_warehouse(tables_dir, sql_dir: Path, target, sql: str) -> tuple[dict, pd.DataFrame]:
    """Builds the warehouse of the tables under the object-store `tables_dir`, uploads it to `target`,
    and returns the build's summary (as `build_warehouse`, with `path` the object's URI and
    `downloaded` the Parquet file count) and the result of `sql` on the build."""
    tables_dir, target = UPath(tables_dir), UPath(target)
    with tempfile.TemporaryDirectory(prefix="workbench-warehouse-") as tmp:
        local_tables = Path(tmp) / "tables"
        local_tables.mkdir()
        downloaded = _download_tables(tables_dir, local_tables)
        local = Path(tmp) / target.name
        built = build_warehouse(local_tables, sql_dir, local)
        result = query(local, sql)
        write_bytes_atomic(target, local.read_bytes())
    return {**built, "path": str(target), "downloaded": downloaded}, result
