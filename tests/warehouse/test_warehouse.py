from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from workbench_dagster.evaluation.scores import EVAL_COLUMNS
from workbench_dagster.warehouse.build import (
    WarehouseError,
    build_warehouse,
    model_dependencies,
    open_warehouse,
    query,
)

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def write(tables: Path, relative: str, rows: list[dict]) -> None:
    path = tables / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)


def write_sql(sql_dir: Path, name: str, sql: str) -> Path:
    sql_dir.mkdir(parents=True, exist_ok=True)
    path = sql_dir / f"{name}.sql"
    path.write_text(sql, encoding="utf-8")
    return path


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    """Two models over two batches; b2 is held out, b1 trains the baseline."""
    root = tmp_path / "tables"
    for batch in ("b1", "b2"):
        write(
            root,
            f"prompts/{batch}.parquet",
            [
                {
                    "image_id": f"{batch}-i1",
                    "batch": batch,
                    "index": 0,
                    "prompt": "p",
                    "spec_json": "{}",
                    "reference_labels": ["cat", "sofa"],
                    "reference_caption": "a cat on a sofa",
                    "seed": 1,
                },
                {
                    "image_id": f"{batch}-i2",
                    "batch": batch,
                    "index": 1,
                    "prompt": "p",
                    "spec_json": "{}",
                    "reference_labels": ["dog"],
                    "reference_caption": "a dog",
                    "seed": 2,
                },
            ],
        )
        write(
            root,
            f"synthetic_images/{batch}.parquet",
            [
                {
                    "image_id": f"{batch}-i{n}",
                    "batch": batch,
                    "sha256": f"h{n}",
                    "uri": f"/img/{batch}-{n}.png",
                    "width": 64,
                    "height": 64,
                    "source": "procedural",
                    "status": "ok",
                    "error": None,
                }
                for n in (1, 2)
            ],
        )
        for model in ("m_good", "m_bad"):
            good = model == "m_good"
            write(
                root,
                f"mllm_captions/{batch}/{model}.parquet",
                [
                    {
                        "image_id": f"{batch}-i1",
                        "batch": batch,
                        "model": model,
                        "backend": "test",
                        "labels": ["cat", "sofa"] if good else ["dog"],
                        "label_scores_json": None,
                        "caption": "c",
                        "raw_output": "r",
                        "parse_status": "ok",
                        "error": None,
                        "latency_ms": 10.0,
                        "input_tokens": 5,
                        "output_tokens": 7,
                        "cost_usd": 0.01,
                        "cache_hit": False,
                        "is_training_batch": batch == "b1",
                    },
                    {
                        "image_id": f"{batch}-i2",
                        "batch": batch,
                        "model": model,
                        "backend": "test",
                        "labels": ["dog"] if good else [],
                        "label_scores_json": None,
                        "caption": None,
                        "raw_output": "r",
                        "parse_status": "ok" if good else "invalid",
                        "error": None,
                        "latency_ms": 30.0,
                        "input_tokens": 5,
                        "output_tokens": 7,
                        "cost_usd": 0.01,
                        "cache_hit": True,
                        "is_training_batch": batch == "b1",
                    },
                ],
            )
            write(
                root,
                f"eval_scores/{batch}/{model}.parquet",
                [
                    {
                        **dict.fromkeys(EVAL_COLUMNS),  # every registered metric has its column
                        "model": model,
                        "batch": batch,
                        "is_training_batch": batch == "b1",
                        "n_images": 2,
                        "n_scored": 2,
                        "n_failed": 0,
                        "subset_accuracy": 1.0 if good else 0.0,
                        "sample_accuracy": 0.5,
                        "precision_micro": 0.5,
                        "recall_micro": 0.5,
                        "f1_micro": 0.9 if good else 0.1,
                        "precision_macro": 0.5,
                        "recall_macro": 0.5,
                        "f1_macro": 0.5,
                        "hamming_loss": 0.1,
                        "caption_cosine": None,
                    }
                ],
            )
    for model in ("m_good", "m_bad"):
        write(
            root,
            f"centrality_table/{model}.parquet",
            [
                {
                    "model": model,
                    "variant": variant,
                    "node": image,
                    "node_type": "image",
                    "batch": image[:2],
                    "degree": 1,
                    "strength": 1.0,
                    "betweenness": 0.0,
                    "eigenvector": 0.5,
                    "pagerank": 0.25 if variant == "labels_captions" else 0.5,
                    "closeness": 1.0,
                    "community": 0,
                    "hierarchy": [0],
                    "x": 0.0,
                    "y": 0.0,
                }
                for variant in ("labels", "labels_captions")
                for image in ("b1-i1", "b1-i2", "b2-i1", "b2-i2")
            ],
        )
        write(
            root,
            f"communities/{model}.parquet",
            [
                {
                    "model": model,
                    "variant": "labels_captions",
                    "level": level,
                    "community": 0,
                    "parent": None,
                    "size": 4,
                    "modularity": 0.0,
                    "top_labels": ["cat"],
                    "overrepresented_labels": [],
                    "label_lift": [],
                    "keywords": ["cat"],
                    "central_images": ["b1-i1"],
                    "summary": "cats",
                    "summary_source": "template",
                    "summary_error": None,
                }
                for level in (0, 1)
            ],
        )
        good = model == "m_good"
        write(
            root,
            f"metric_intervals/{model}.parquet",
            [
                {
                    "model": model,
                    "metric": metric,
                    "n_images": 2,
                    "n_batches": 1,
                    "estimate": est,
                    "ci_low": est - 0.2,
                    "ci_high": min(est + 0.05, 1.0),
                    "n_boot": 1000,
                    "seed": 1,
                }
                for metric, est in (("f1_micro", 0.9 if good else 0.1), ("f1_macro", 0.5))
            ],
        )
        write(
            root,
            f"model_comparisons/{model}.parquet",
            [
                {
                    "model": model,
                    "other_model": "m_bad" if good else "m_good",
                    "metric": "f1_micro",
                    "n_images": 2,
                    "difference": 0.8 if good else -0.8,
                    "ci_low": 0.6 if good else -0.9,
                    "ci_high": 0.9 if good else -0.6,
                    "p_value": 0.0,
                    "verdict": "better" if good else "worse",
                    "n_boot": 1000,
                    "seed": 1,
                }
            ],
        )
    return root


def test_views_cover_every_asset_folder_at_any_depth(tables: Path, tmp_path: Path) -> None:
    write(tables, "prompts/extra/deeper.parquet", [{"image_id": "x", "batch": "b3", "seed": 9}])
    (tables / "empty_asset").mkdir()
    (tables / ".scratch").mkdir()
    write(tables, ".scratch/junk.parquet", [{"a": 1}])

    result = build_warehouse(tables, tmp_path / "no_sql", tmp_path / "wh" / "warehouse.duckdb")

    assert result["views"] == {
        "centrality_table": 16,
        "communities": 4,
        "eval_scores": 4,
        "metric_intervals": 4,
        "mllm_captions": 8,
        "model_comparisons": 2,
        "prompts": 5,
        "synthetic_images": 4,
    }
    assert result["models"] == {} and result["order"] == []
    extra = query(result["path"], "SELECT seed, prompt FROM prompts WHERE batch = 'b3'")
    assert extra.to_dict("records") == [{"seed": 9, "prompt": None}]


def test_repository_models_build_with_expected_contents(tables: Path, tmp_path: Path) -> None:
    result = build_warehouse(tables, REPO_SQL, tmp_path / "warehouse.duckdb")

    assert result["models"] == {
        "community_summary": 2,
        "image_overview": 8,
        "label_frequency": 6,
        "model_leaderboard": 2,
    }
    board = query(result["path"], "SELECT * FROM model_leaderboard ORDER BY rank")
    assert board["model"].tolist() == ["m_good", "m_bad"]
    assert board["rank"].tolist() == [1, 2]
    assert board["n_batches"].tolist() == [1, 1]  # the training batch is left out
    assert board["n_failures"].tolist() == [0, 1]
    assert board["total_tokens"].tolist() == [24, 24]
    assert board["f1_micro"].tolist() == pytest.approx([0.9, 0.1])
    assert board["f1_micro_ci_low"].tolist() == pytest.approx([0.7, -0.1])
    assert board["f1_micro_ci_high"].tolist() == pytest.approx([0.95, 0.15])
    assert board["significantly_beats"].iloc[0] == "m_bad" and pd.isna(board["significantly_beats"].iloc[1])
    assert board["caption_cosine"].isna().all() and board["caption_bertscore"].isna().all()

    labels = query(result["path"], "SELECT * FROM label_frequency WHERE model = 'm_bad' ORDER BY label")
    assert labels[["label", "n_predicted", "n_reference", "n_both"]].to_dict("records") == [
        {"label": "cat", "n_predicted": 0, "n_reference": 2, "n_both": 0},
        {"label": "dog", "n_predicted": 2, "n_reference": 2, "n_both": 0},
        {"label": "sofa", "n_predicted": 0, "n_reference": 2, "n_both": 0},
    ]
    overview = query(result["path"], "SELECT * FROM image_overview WHERE model = 'm_good' AND image_id = 'b2-i1'")
    row = overview.iloc[0]
    assert row["uri"] == "/img/b2-1.png" and list(row["predicted_labels"]) == ["cat", "sofa"]
    assert row["pagerank"] == 0.25 and row["community"] == 0
    summary = query(result["path"], "SELECT * FROM community_summary ORDER BY model")
    assert summary["summary_source"].tolist() == ["template", "template"]
    assert summary["n_batches"].tolist() == [2, 2] and summary["mean_pagerank"].tolist() == [0.25, 0.25]


def test_models_are_built_after_the_models_they_read(tables: Path, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    write_sql(sql, "a_top", "SELECT count(*) AS n FROM z_base")
    write_sql(sql, "z_base", "WITH prompts_cte AS (SELECT * FROM prompts) SELECT * FROM prompts_cte;\n-- trailing")

    assert model_dependencies(sql) == {"a_top": {"z_base"}, "z_base": {"prompts"}}
    result = build_warehouse(tables, sql, tmp_path / "warehouse.duckdb")
    assert result["order"] == ["z_base", "a_top"]
    assert result["models"] == {"z_base": 4, "a_top": 1}
    meta = query(result["path"], "SELECT * FROM _workbench_meta ORDER BY name")
    assert meta["built_at"].notna().all()
    assert meta.set_index("name").loc["a_top", "kind"] == "model"
    assert list(meta.set_index("name").loc["a_top", "depends_on"]) == ["z_base"]
    assert set(meta["name"]) == set(result["views"]) | set(result["models"])


def test_cycle_names_the_files(tables: Path, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    write_sql(sql, "first", "SELECT * FROM second")
    write_sql(sql, "second", "SELECT * FROM first")
    with pytest.raises(WarehouseError, match="cycle") as info:
        build_warehouse(tables, sql, tmp_path / "warehouse.duckdb")
    assert "first.sql" in str(info.value) and "second.sql" in str(info.value)


def test_missing_table_names_the_file_and_the_table(tables: Path, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    path = write_sql(sql, "needs_graph", "SELECT * FROM graph_edges JOIN prompts USING (image_id)")
    with pytest.raises(WarehouseError, match="graph_edges") as info:
        build_warehouse(tables, sql, tmp_path / "warehouse.duckdb")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["SELEC * FROM prompts", "SELECT 1; SELECT 2", "CREATE TABLE x (a INT)"])
def test_unparsable_or_non_select_model_names_the_file(tables: Path, tmp_path: Path, text: str) -> None:
    path = write_sql(tmp_path / "sql", "broken", text)
    with pytest.raises(WarehouseError) as info:
        build_warehouse(tables, tmp_path / "sql", tmp_path / "warehouse.duckdb")
    assert str(path) in str(info.value)


def test_duckdb_error_names_the_file_and_keeps_the_old_warehouse(tables: Path, tmp_path: Path) -> None:
    target = tmp_path / "warehouse.duckdb"
    build_warehouse(tables, tmp_path / "no_sql", target)
    path = write_sql(tmp_path / "sql", "bad_column", "SELECT no_such_column FROM prompts")
    with pytest.raises(WarehouseError) as info:
        build_warehouse(tables, tmp_path / "sql", target)
    assert str(path) in str(info.value)
    assert query(target, "SELECT count(*) AS n FROM prompts")["n"].item() == 4
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".wal"))]


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


def test_unpartitioned_tables_are_views_too(tables: Path, tmp_path: Path) -> None:
    write(
        tables,
        "network_comparison.parquet",
        [{"variant": "labels", "model_a": "m_bad", "model_b": "m_good", "ari": 0.5}],
    )
    write(tables, "_scratch.parquet", [{"a": 1}])
    result = build_warehouse(tables, tmp_path / "no_sql", tmp_path / "wh" / "warehouse.duckdb")
    assert result["views"]["network_comparison"] == 1 and "_scratch" not in result["views"]
    assert query(result["path"], "SELECT ari FROM network_comparison")["ari"].tolist() == [0.5]
