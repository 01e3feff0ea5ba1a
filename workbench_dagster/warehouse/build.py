"""A DuckDB file analysts can open: every asset's Parquet as a typed table, SQL models as tables.

Everything is materialised, nothing is a view onto files: DuckDB resolves a relative path in a view
against the reading process's working folder, not the database file's, so a view-based file opens
only from where it was built (absolute paths) or from its own folder (relative ones), and never in a
client such as the DuckDB CLI started elsewhere. A file of tables opens anywhere, moved, zipped or
alone, and its tables and marts are one consistent snapshot. Path columns (table_schemas.PATH_COLUMNS)
are stored relative to data_dir; `open_warehouse` points DuckDB's file search path at data_dir, so
`read_blob(uri)` finds an image wherever the folder now lies. Every column has its declared type
(table_schemas.py), also in empty tables.

The file is rebuilt from scratch into a temporary name and renamed over the old one. On Linux a
reader that has the old file open keeps its inode and goes on reading the old data, and the
build never waits on the reader's lock. A reader in another process sees the new file; in the
same process DuckDB hands a plain `duckdb.connect(path)` the database it already holds open for
that path, so the old build, until every connection to it is closed. `open_warehouse` attaches
the file instead, which always opens the build currently at the path.
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
from workbench_dagster.warehouse.table_schemas import DESCRIPTIONS, PATH_COLUMNS, SCHEMAS

META_TABLE = "_workbench_meta"
CATALOG_TABLE = "_catalog"
PATHS_TABLE = "_workbench_paths"
METRICS_TABLE = "metrics"  # from the metric registry, not from a Parquet file


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


def _table_sources(tables_dir: Path) -> dict[str, Path]:
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


def _relative_path(column: str, data_dir: Path) -> str:
    """A path column as a path relative to data_dir where it points under it; any other value (an
    s3:// uri, a store outside data_dir) is kept as written."""
    prefix = _literal(str(data_dir) + os.sep)
    quoted = _quote(column)
    return f"CASE WHEN starts_with({quoted}, {prefix}) THEN {quoted}[length({prefix}) + 1:] ELSE {quoted} END"


def _typed_select(name: str, present: dict[str, str], data_dir: Path) -> str:
    """The select list giving every declared column its declared type, null where no file has it;
    undeclared columns keep their Parquet type, and one Parquet could not type (all nulls) is VARCHAR."""
    declared = SCHEMAS.get(name, {})
    parts = []
    for column, type_ in [*declared.items(), *((c, t) for c, t in present.items() if c not in declared)]:
        if column not in present:
            parts.append(f"CAST(NULL AS {type_}) AS {_quote(column)}")
            continue
        if type_ == '"NULL"':
            type_ = "VARCHAR"
        value = _relative_path(column, data_dir) if column in PATH_COLUMNS else _quote(column)
        parts.append(f"CAST({value} AS {type_}) AS {_quote(column)}")
    return ",\n    ".join(parts)


def _load_table(con: duckdb.DuckDBPyConnection, name: str, source: Path, data_dir: Path) -> int:
    """One asset's Parquet files materialised as a typed table: the file then opens from any folder
    and any client, since nothing in it points at a file."""
    pattern = _literal(str(source if source.is_file() else source / "**" / "*.parquet"))  # `**` matches depth 0
    reader = f"read_parquet({pattern}, union_by_name = true, hive_partitioning = false)"
    try:
        present = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
        con.execute(
            f"CREATE TABLE {_quote(name)} AS SELECT\n    {_typed_select(name, present, data_dir)}\nFROM {reader}"
        )
    except duckdb.Error as exc:
        raise WarehouseError(f"{source}: cannot load table '{name}' from its Parquet files: {exc}") from None
    return _count(con, name)


def _metrics_table(con: duckdb.DuckDBPyConnection) -> int:
    """The metric registry as a table: a mart reading a difference (model_margins) needs each metric's
    direction, which no asset table holds."""
    from workbench_dagster.evaluation.metric_registry import METRICS

    _empty_table(con, METRICS_TABLE)
    rows = [(m.name, m.lower_is_better, *m.bounds, m.resampled, m.headline) for m in METRICS]
    con.executemany(f"INSERT INTO {METRICS_TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _empty_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """A declared table no asset has written yet: present with its types, so a mart or a query on it
    finds no rows rather than no table."""
    columns = ", ".join(f"{_quote(c)} {t}" for c, t in SCHEMAS[name].items())
    con.execute(f"CREATE TABLE {_quote(name)} ({columns})")


def _description(path: Path) -> str | None:
    """A mart's one-line description: the first line of its SQL file, when that is a `--` comment."""
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[:1]
    return first[0].lstrip("-").strip() if first and first[0].startswith("--") else None


def _untyped_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND data_type IN ('\"NULL\"', 'HUGEINT') "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()


def _check_types(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    """A mart column typed NULL breaks a union or a typed client, and HUGEINT (what sum() of a BIGINT
    gives) arrives in pandas as a float: both fail the build naming the file and column."""
    bad = _untyped_columns(con)
    if bad:
        raise WarehouseError(
            "; ".join(
                f"{files.get(table, table)}: column '{column}' of '{table}' is typed {type_}; "
                "cast it (a count to BIGINT, a null to its type)"
                for table, column, type_ in bad
            )
        )


def _populate(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, Path],
    files: dict[str, Path],
    order: list[str],
    data_dir: Path,
) -> tuple[dict[str, int], list[str], dict[str, int]]:
    tables = {name: _load_table(con, name, source, data_dir) for name, source in sources.items()}
    tables[METRICS_TABLE] = _metrics_table(con)
    empty = sorted(set(SCHEMAS) - set(tables))
    for name in empty:
        _empty_table(con, name)
    models: dict[str, int] = {}
    for name in order:
        try:
            con.execute(f"CREATE TABLE {_quote(name)} AS\n{files[name].read_text(encoding='utf-8')}\n")
        except duckdb.Error as exc:
            raise WarehouseError(f"{files[name]}: model '{name}' failed in DuckDB: {exc}") from None
        models[name] = _count(con, name)
    _check_types(con, files)
    return tables, empty, models


def _relative_to(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _write_meta(con, sources, files, deps, counts, data_dir: Path, target_dir: Path, built_at: datetime) -> None:
    """_workbench_meta (what each table was built from, paths relative to data_dir or the SQL folder's
    parent), _catalog (what each table is, one line each) and _workbench_paths (where data_dir lies
    from the warehouse's folder, for open_warehouse)."""
    tables, empty, models = counts
    con.execute(
        f"CREATE TABLE {META_TABLE} (name VARCHAR, kind VARCHAR, row_count BIGINT, source VARCHAR, "
        "depends_on VARCHAR[], built_at TIMESTAMPTZ)"
    )
    where = {**{n: _relative_to(s, data_dir) for n, s in sources.items()}, METRICS_TABLE: "metric_registry.py"}
    rows = [(n, "table", c, where[n], [], built_at) for n, c in tables.items()]
    rows += [(n, "empty table", 0, None, [], built_at) for n in empty]
    rows += [
        (n, "model", c, f"{files[n].parent.name}/{files[n].name}", sorted(deps[n]), built_at)
        for n, c in models.items()
    ]
    con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        f"CREATE TABLE {CATALOG_TABLE} (name VARCHAR, kind VARCHAR, description VARCHAR, row_count BIGINT)"
    )
    catalog = [(n, "table", DESCRIPTIONS.get(n), c) for n, c in tables.items()]
    catalog += [(n, "table", DESCRIPTIONS[n], 0) for n in empty]
    catalog += [(n, "mart", _description(files[n]), c) for n, c in models.items()]
    catalog += [
        (META_TABLE, "meta", "One row per table: what it was built from, when, and what it reads.", len(rows)),
        (CATALOG_TABLE, "meta", "One row per table: what a row of it is.", len(catalog) + 3),
        (PATHS_TABLE, "meta", "Where data_dir lies from the warehouse's folder: relative paths resolve there.", 1),
    ]
    con.executemany(f"INSERT INTO {CATALOG_TABLE} VALUES (?, ?, ?, ?)", sorted(catalog))
    con.execute(f"CREATE TABLE {PATHS_TABLE} (data_dir VARCHAR)")
    con.execute(f"INSERT INTO {PATHS_TABLE} VALUES (?)", [_relative_to(data_dir, target_dir)])


def build_warehouse(tables_dir: Path, sql_dir: Path, target: Path, data_dir: Path | None = None) -> dict:
    """Every model is checked before anything is written, so a bad SQL file leaves the old file alone.
    `data_dir` (default: tables_dir's parent) is what path columns are made relative to."""
    target = Path(target).resolve()
    data_dir = Path(data_dir or Path(tables_dir).parent).resolve()
    sources = _table_sources(tables_dir)
    if METRICS_TABLE in sources:
        raise WarehouseError(
            f"{sources[METRICS_TABLE]}: an asset named '{METRICS_TABLE}' clashes with the metric registry's table"
        )
    files = _sql_files(sql_dir)
    deps = {name: _references(path) for name, path in files.items()}
    order = _build_order(files, deps, set(sources) | set(SCHEMAS))

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    built_at = datetime.now(UTC)
    try:
        with duckdb.connect(str(tmp)) as con:
            counts = _populate(con, sources, files, order, data_dir)
            _write_meta(con, sources, files, deps, counts, data_dir, target.parent, built_at)
            con.execute("CHECKPOINT")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    tables, empty, models = counts
    return {
        "path": str(target),
        "tables": tables,
        "views": tables,  # the name before tables were materialised (issue 14); same dict
        "empty": empty,
        "models": models,
        "order": order,
        "built_at": built_at.isoformat(),
    }


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the build at `path` now, even while this process holds a connection
    to an older one: DuckDB caches one database per path in a process, and ATTACH from a fresh
    in-memory database bypasses that cache. The connection keeps the build it opened; open another
    to see a later one. Relative paths (an image's uri) resolve against data_dir as the build
    recorded it from the file's folder, then against that folder."""
    path = Path(path).resolve()
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(str(path))} AS warehouse (READ_ONLY)")
        con.execute("USE warehouse")
        folders = [path.parent]
        if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'warehouse' AND table_name = ?",
            [PATHS_TABLE],
        ).fetchone()[0]:
            (relative,) = con.execute(f"SELECT data_dir FROM {PATHS_TABLE}").fetchone()
            folders.insert(0, (path.parent / relative).resolve())
        con.execute(f"SET file_search_path = {_literal(','.join(str(f) for f in folders))}")
    except duckdb.Error:
        con.close()
        raise
    return con


def query(path: Path, sql: str) -> pd.DataFrame:
    with open_warehouse(path) as con:
        return con.execute(sql).df()
