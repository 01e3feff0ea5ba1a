"""Readers of the warehouse while it is rebuilt: never a half-written file, and the current build on request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.helpers import write_rows as write
from tests.helpers import write_sql
from workbench_dagster.warehouse.build import (
    build_warehouse,
    open_warehouse,
    query,
)

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def test_rebuild_replaces_the_file_under_an_open_reader(tables: Path, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    write_sql(sql, "prompt_count", "SELECT count(*) AS n FROM prompts")
    target = tmp_path / "warehouse.duckdb"
    build_warehouse(tables, sql, target)

    reader = duckdb.connect(str(target), read_only=True)
    try:
        assert reader.execute("SELECT n FROM prompt_count").fetchone() == (4,)
        write(tables, "prompts/b3.parquet", [{"image_id": "b3-i1", "batch": "b3"}])

        result = build_warehouse(tables, sql, target)

        assert result["models"] == {"prompt_count": 1}
        assert reader.execute("SELECT n FROM prompt_count").fetchone() == (4,)  # the old snapshot
        assert query(target, "SELECT n FROM prompt_count")["n"].item() == 5
        fresh = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb, sys; "
                "print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT n FROM prompt_count').fetchone()[0])",
                str(target),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert fresh.stdout.strip() == "5"
    finally:
        reader.close()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".wal"))]


def test_open_warehouse_sees_each_new_build_in_the_same_process(tables: Path, tmp_path: Path) -> None:
    """The README's promise to a reader: open_warehouse always opens the current build, a connection
    keeps the build it opened, and a plain connect while one is open returns the old build."""
    sql = tmp_path / "sql"
    write_sql(sql, "prompt_count", "SELECT count(*) AS n FROM prompts")
    target = tmp_path / "warehouse.duckdb"
    build_warehouse(tables, sql, target)
    plain = duckdb.connect(str(target), read_only=True)
    first = open_warehouse(target)
    try:
        write(tables, "prompts/b3.parquet", [{"image_id": "b3-i1", "batch": "b3"}])
        build_warehouse(tables, sql, target)
        with open_warehouse(target) as second:
            assert second.execute("SELECT n FROM prompt_count").fetchone() == (5,)
            assert second.execute("SELECT count(*) FROM _workbench_meta").fetchone()[0] >= 1
        assert first.execute("SELECT n FROM prompt_count").fetchone() == (4,)  # keeps the build it opened
        with duckdb.connect(str(target), read_only=True) as again:  # DuckDB's per-path cache
            assert again.execute("SELECT n FROM prompt_count").fetchone() == (4,)
    finally:
        plain.close()
        first.close()
    with duckdb.connect(str(target), read_only=True) as fresh:  # every connection closed: the new build
        assert fresh.execute("SELECT n FROM prompt_count").fetchone() == (5,)
