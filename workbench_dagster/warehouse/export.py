"""A self-contained copy of the warehouse to share: every table and view materialised, nothing pointing
at a file, optionally with the images its relative `uri`s name beside it.

The build already materialises every table (build.py says why); an export is still the copy to hand
on, since it is taken through `open_warehouse` (the current build, whole, never a half-written one),
turns any view an older build left into a table, and can carry the images so that `uri` resolves in
the copy's own folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from workbench_dagster.warehouse.build import PATHS_TABLE, WarehouseError, _literal, _quote, open_warehouse

IMAGE_COLUMNS = ("uri", "image_uri")  # the path columns naming images; checkpoints are not shared


def _objects(con: duckdb.DuckDBPyConnection, database: str) -> tuple[list[str], list[str]]:
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' ORDER BY 1",
        [database],
    ).fetchall()
    views = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal ORDER BY 1", [database]
    ).fetchall()
    return [t for (t,) in tables], [v for (v,) in views]


def _relative_images(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
    """Every relative path an image column of the copy holds: those are the files to carry along."""
    paths: set[str] = set()
    for name in names:
        columns = {
            c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE export.main.{_quote(name)})").fetchall()
        }
        for column in sorted(columns & set(IMAGE_COLUMNS)):
            rows = con.execute(
                f"SELECT DISTINCT {_quote(column)} FROM export.main.{_quote(name)} WHERE {_quote(column)} IS NOT NULL"
            ).fetchall()
            paths |= {p for (p,) in rows if not os.path.isabs(p) and "://" not in p}
    return sorted(paths)


def _data_dir(con: duckdb.DuckDBPyConnection, source: Path) -> Path:
    """Where the warehouse's relative paths resolve: as the build recorded it, else (an older build) its folder."""
    known = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'warehouse' AND table_name = ?", [PATHS_TABLE]
    ).fetchone()[0]
    if not known:
        return source.parent
    (relative,) = con.execute(f"SELECT data_dir FROM warehouse.main.{PATHS_TABLE}").fetchone()
    return (source.parent / relative).resolve()


def _copy_images(paths: list[str], data_dir: Path, folder: Path) -> tuple[int, list[str]]:
    copied, missing = 0, []
    for relative in paths:
        source = data_dir / relative
        if not source.is_file():
            missing.append(relative)
            continue
        destination = folder / relative
        if destination.resolve() != source.resolve():  # exported into data_dir itself: already there
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
        copied += 1
    return copied, missing


def export_warehouse(source: Path, target: Path, with_images: bool = False) -> dict:
    """Writes the copy to a temporary name and renames it over `target`; returns what it holds. With
    `with_images`, images the copy names by relative path are copied under target's folder, and an
    image that cannot be found is listed in `missing_images`, never skipped silently."""
    source, target = Path(source).resolve(), Path(target).resolve()
    if source == target:
        raise WarehouseError(f"{target}: an export cannot overwrite the warehouse it copies")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open_warehouse(source) as con:
            data_dir = _data_dir(con, source)
            tables, views = _objects(con, "warehouse")
            con.execute(f"ATTACH {_literal(str(tmp))} AS export")
            for name in tables + views:
                try:
                    con.execute(
                        f"CREATE TABLE export.main.{_quote(name)} AS SELECT * FROM warehouse.main.{_quote(name)}"
                    )
                except duckdb.Error as exc:
                    raise WarehouseError(f"{source}: cannot copy '{name}' into the export: {exc}") from None
            images = _relative_images(con, tables + views) if with_images else []
            home = target.parent if with_images else data_dir
            con.execute(f"CREATE OR REPLACE TABLE export.main.{PATHS_TABLE} (data_dir VARCHAR)")
            relative = Path(os.path.relpath(home, target.parent)).as_posix()
            con.execute(f"INSERT INTO export.main.{PATHS_TABLE} VALUES (?)", [relative])
            left = _objects(con, "export")[1]
            if left:
                raise WarehouseError(f"{target}: the export still holds views {left}")
            con.execute("DETACH export")
        copied, missing = _copy_images(images, data_dir, target.parent)
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return {"path": str(target), "tables": sorted(tables + views), "images": copied, "missing_images": missing}
