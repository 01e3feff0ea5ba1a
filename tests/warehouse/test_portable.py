"""The warehouse opens wherever its folder goes, every column typed (issue 14, item 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import write_rows as write
from tests.helpers import write_sql
from workbench_dagster.warehouse.build import WarehouseError, build_warehouse, open_warehouse, query
from workbench_dagster.warehouse.export import export_warehouse
from workbench_dagster.warehouse.table_schemas import SCHEMAS

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def _untyped(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND data_type IN ('\"NULL\"', 'HUGEINT')"
    ).fetchall()


@pytest.fixture
def data_dir(tables: Path, tmp_path: Path) -> Path:
    """The shared tables as a data_dir: images stored under it, an all-null reviews table, a store on S3."""
    data = tmp_path / "data"
    data.mkdir()
    tables = Path(shutil.move(tables, data / "tables"))
    images = data / "images"
    images.mkdir()
    for batch in ("b1", "b2"):
        rows = [
            {"image_id": f"{batch}-i{n}", "batch": batch, "uri": str(images / f"{batch}-{n}.png"), "status": "ok",
             "error": None}
            for n in (1, 2)
        ]  # fmt: skip
        write(tables, f"synthetic_images/{batch}.parquet", rows)
        for n in (1, 2):
            (images / f"{batch}-{n}.png").write_bytes(f"png {batch} {n}".encode())
    write(
        tables, "synthetic_images/remote.parquet", [{"image_id": "r1", "batch": "b3", "uri": "s3://bucket/r1.png"}]
    )
    write(tables, "human_reviews/empty.parquet", [dict.fromkeys(SCHEMAS["human_reviews"])])  # every value null
    return data


def test_copied_folder_opens_and_every_table_has_rows(data_dir: Path, tmp_path: Path) -> None:
    built = build_warehouse(data_dir / "tables", REPO_SQL, data_dir / "warehouse.duckdb")
    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(data_dir, moved)
    shutil.rmtree(data_dir)

    with open_warehouse(moved / "warehouse.duckdb") as con:
        names = [
            n
            for (n,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse'"
            ).fetchall()
        ]
        views = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = 'warehouse' AND NOT internal"
        )
        assert views.fetchall() == []
        counts = {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
        empty = {name for name, n in counts.items() if n == 0}
        # rows everywhere, except the declared tables no asset wrote, and the marts built on them
        assert empty == set(built["empty"]) | {"comments_by_language", "slice_gaps", "counterfactual_flips"}
        assert "synthetic_images" not in empty and counts["human_reviews"] == 1
        uris = dict(con.execute("SELECT image_id, uri FROM synthetic_images").fetchall())
        assert uris["b2-i1"] == "images/b2-1.png" and uris["r1"] == "s3://bucket/r1.png"
        # relative paths resolve against the moved data_dir, not the working folder
        assert con.execute("SELECT content FROM read_blob('images/b2-1.png')").fetchone()[0] == b"png b2 1"
        sources = dict(con.execute("SELECT name, source FROM _workbench_meta").fetchall())
        assert (
            sources["prompts"] == "tables/prompts"
            and sources["model_leaderboard"] == "dbt_like_sql/model_leaderboard.sql"
        )
        assert str(tmp_path) not in " ".join(str(s) for s in sources.values())

    # any client, from any folder: a plain connect in another process and working folder
    script = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT count(*) FROM prompts').fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", script, str(moved / "warehouse.duckdb")],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "4"


def test_no_column_is_typed_null_or_hugeint_and_empty_tables_keep_their_types(data_dir: Path) -> None:
    path = build_warehouse(data_dir / "tables", REPO_SQL, data_dir / "warehouse.duckdb")["path"]
    with open_warehouse(path) as con:
        assert _untyped(con) == []
        for table in ("human_reviews", "human_eval_scores", "reference_audit"):
            declared = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
            assert declared == dict(SCHEMAS[table]), table
        types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE model_leaderboard)").fetchall())
        assert types["n_images"] == types["total_tokens"] == types["n_captions"] == "BIGINT"
        # a declared column no Parquet file has is present, null, with its type
        assert con.execute("SELECT typeof(sha256), count(sha256) FROM synthetic_images GROUP BY 1").fetchall() == [
            ("VARCHAR", 0)
        ]
    board = query(path, "SELECT n_images, total_tokens FROM model_leaderboard ORDER BY rank")
    assert board["n_images"].dtype.kind == "i" and board["total_tokens"].tolist() == [24, 24]


@pytest.mark.parametrize(
    ("sql", "column", "type_"),
    [
        ("SELECT NULL AS nothing, 1 AS n", "nothing", "NULL"),
        ("SELECT sum(seed) AS total FROM prompts", "total", "HUGEINT"),
    ],
)
def test_a_mart_column_without_a_type_fails_naming_file_and_column(
    tables: Path, tmp_path: Path, sql, column, type_
):
    path = write_sql(tmp_path / "sql", "loose", sql)
    with pytest.raises(WarehouseError) as info:
        build_warehouse(tables, tmp_path / "sql", tmp_path / "warehouse.duckdb")
    assert str(path) in str(info.value) and f"'{column}'" in str(info.value) and type_ in str(info.value)
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_export_has_no_views_and_carries_its_images(data_dir: Path, tmp_path: Path) -> None:
    source = Path(build_warehouse(data_dir / "tables", REPO_SQL, data_dir / "warehouse.duckdb")["path"])
    result = export_warehouse(source, tmp_path / "share" / "warehouse.duckdb", with_images=True)
    assert result["images"] == 4 and result["missing_images"] == []
    shutil.rmtree(data_dir)
    with open_warehouse(result["path"]) as con:
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM model_leaderboard").fetchone()[0] == 2
        assert con.execute("SELECT content FROM read_blob('images/b1-2.png')").fetchone()[0] == b"png b1 2"
        assert _untyped(con) == []


def test_export_turns_an_older_view_based_warehouse_into_tables(tables: Path, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.duckdb"
    pattern = str(tables / "prompts" / "**" / "*.parquet")
    with duckdb.connect(str(legacy)) as con:
        con.execute(f"CREATE VIEW prompts AS SELECT * FROM read_parquet('{pattern}')")
    result = export_warehouse(legacy, tmp_path / "out" / "warehouse.duckdb")
    shutil.rmtree(tables)
    with duckdb.connect(result["path"], read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM prompts").fetchone()[0] == 4


def test_export_script_writes_the_copy(data_dir: Path, tmp_path: Path) -> None:
    source = build_warehouse(data_dir / "tables", REPO_SQL, data_dir / "warehouse.duckdb")["path"]
    target = tmp_path / "shared" / "wh.duckdb"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, str(root / "scripts" / "export_warehouse.py"), str(target), "--warehouse", source],
        capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "4 images" in out.stdout and (target.parent / "images" / "b1-1.png").exists()
