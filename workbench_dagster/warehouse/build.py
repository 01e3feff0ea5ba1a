"""A DuckDB file analysts can open: views over every asset's Parquet, SQL models as tables.

The file is rebuilt from scratch into a temporary name and renamed over the old one. On Linux a
reader that has the old file open keeps its inode and goes on reading the old data, and the
build never waits on the reader's lock. A reader in another process sees the new file; in the
same process DuckDB hands a plain `duckdb.connect(path)` the database it already holds open for
that path, so the old build, until every connection to it is closed. `open_warehouse` attaches
the file instead, which always opens the build currently at the path.

Views read the Parquet files lazily, so they always show the current tables; models are
snapshots taken at build time.
"""

from __future__ import annotations

import graphlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

from workbench_dagster.errors import WorkbenchConfigError

META_TABLE = "_workbench_meta"


class WarehouseError(WorkbenchConfigError):
    """A SQL model that cannot be built; the message names the file."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_files(sql_dir: Path) -> dict[str, Path]:
    files = sorted(Path(sql_dir).glob("*.sql"))
    return {path.stem.lower(): path for path in files}


def _references(path: Path) -> set[str]:
    """Tables a model reads; names bound by its own CTEs are not references."""
    try:
        parsed = sqlglot.parse(path.read_text(encoding="utf-8"), read="duckdb")
    except sqlglot.errors.ParseError as exc:
        where = exc.errors[0] if exc.errors else {}
        raise WarehouseError(
            f"{path}: not valid DuckDB SQL at line {where.get('line')}, column {where.get('col')}: "
            f"{where.get('description', exc)}"
        ) from None
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    if len(statements) != 1:
        raise WarehouseError(f"{path}: expected one SELECT statement, found {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise WarehouseError(f"{path}: expected a SELECT statement, found {statement.key.upper()}")
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    tables = {table.name.lower() for table in statement.find_all(exp.Table) if table.name}
    return tables - ctes


def model_dependencies(sql_dir: Path) -> dict[str, set[str]]:
    """Every table each model reads, views and other models alike, so Dagster can wire its deps."""
    return {name: _references(path) for name, path in _sql_files(sql_dir).items()}


def _build_order(files: dict[str, Path], deps: dict[str, set[str]], views: set[str]) -> list[str]:
    for name, path in files.items():
        if name in views or name == META_TABLE:
            raise WarehouseError(f"{path}: model name '{name}' clashes with a table of the same name")
        missing = sorted(deps[name] - views - set(files))
        if missing:
            raise WarehouseError(
                f"{path}: model '{name}' reads {', '.join(repr(m) for m in missing)}, which is neither a "
                f"materialised table nor a model (known tables: {', '.join(sorted(views)) or 'none'})"
            )
    sorter = graphlib.TopologicalSorter()
    for name in sorted(files):
        sorter.add(name, *sorted(deps[name] & set(files)))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise WarehouseError(
            "SQL models depend on each other in a cycle: "
            + " -> ".join(f"{name} ({files[name]})" for name in cycle)
        ) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


def _view_sources(tables_dir: Path) -> dict[str, Path]:
    """Asset folders holding Parquet; dot- and underscore-folders are scratch space, not assets."""
    tables_dir = Path(tables_dir)
    if not tables_dir.is_dir():
        return {}
    sources = {
        folder.name.lower(): folder.resolve()
        for folder in sorted(tables_dir.iterdir())
        if folder.is_dir() and not folder.name.startswith((".", "_")) and next(folder.rglob("*.parquet"), None)
    }
    # Unpartitioned assets are one file directly under tables_dir (e.g. network_comparison.parquet).
    for file in sorted(tables_dir.glob("*.parquet")):
        if not file.name.startswith((".", "_")) and file.stem.lower() not in sources:
            sources[file.stem.lower()] = file.resolve()
    return sources


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]


def _populate(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, Path],
    files: dict[str, Path],
    deps: dict[str, set[str]],
    order: list[str],
    built_at: datetime,
) -> tuple[dict[str, int], dict[str, int]]:
    views: dict[str, int] = {}
    for name, folder in sources.items():
        pattern = _literal(
            str(folder if folder.is_file() else folder / "**" / "*.parquet")
        )  # `**` also matches files directly in folder
        try:
            con.execute(
                f"CREATE VIEW {_quote(name)} AS SELECT * FROM "
                f"read_parquet({pattern}, union_by_name = true, hive_partitioning = false)"
            )
            views[name] = _count(con, name)
        except duckdb.Error as exc:
            raise WarehouseError(f"{folder}: cannot read table '{name}' from its Parquet files: {exc}") from None
    models: dict[str, int] = {}
    for name in order:
        try:
            con.execute(f"CREATE TABLE {_quote(name)} AS\n{files[name].read_text(encoding='utf-8')}\n")
        except duckdb.Error as exc:
            raise WarehouseError(f"{files[name]}: model '{name}' failed in DuckDB: {exc}") from None
        models[name] = _count(con, name)
    con.execute(
        f"CREATE TABLE {META_TABLE} (name VARCHAR, kind VARCHAR, row_count BIGINT, source VARCHAR, "
        "depends_on VARCHAR[], built_at TIMESTAMPTZ)"
    )
    rows = [(n, "view", c, str(sources[n]), [], built_at) for n, c in views.items()]
    rows += [(n, "model", c, str(files[n]), sorted(deps[n]), built_at) for n, c in models.items()]
    if rows:
        con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)
    return views, models


def build_warehouse(tables_dir: Path, sql_dir: Path, target: Path) -> dict:
    """Every model is checked before anything is written, so a bad SQL file leaves the old file alone."""
    target = Path(target).resolve()
    sources = _view_sources(tables_dir)
    files = _sql_files(sql_dir)
    deps = {name: _references(path) for name, path in files.items()}
    order = _build_order(files, deps, set(sources))

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    built_at = datetime.now(UTC)
    try:
        with duckdb.connect(str(tmp)) as con:
            views, models = _populate(con, sources, files, deps, order, built_at)
            con.execute("CHECKPOINT")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return {
        "path": str(target),
        "views": views,
        "models": models,
        "order": order,
        "built_at": built_at.isoformat(),
    }


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the build at `path` now, even while this process holds a connection
    to an older one: DuckDB caches one database per path in a process, and ATTACH from a fresh
    in-memory database bypasses that cache. The connection keeps the build it opened; open another
    to see a later one."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(str(Path(path).resolve()))} AS warehouse (READ_ONLY)")
        con.execute("USE warehouse")
    except duckdb.Error:
        con.close()
        raise
    return con


def query(path: Path, sql: str) -> pd.DataFrame:
    with open_warehouse(path) as con:
        return con.execute(sql).df()
