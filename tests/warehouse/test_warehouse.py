from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import write_rows as write
from tests.helpers import write_sql
from workbench_dagster.warehouse.build import (
    WarehouseError,
    build_warehouse,
    model_dependencies,
    query,
)

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


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
        "metrics": 11,  # the metric registry's, not from a file
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
        "caption_examples": 4,  # one captioned held-out image per model, showing two labels: best only
        "comments_by_language": 0,  # no comments: an empty typed table, not a missing one
        "community_summary": 2,
        "image_overview": 8,
        "label_confusion": 8,
        "label_frequency": 12,
        "model_margins": 1,
        "model_leaderboard": 2,
        "slice_gaps": 0,  # no slice table: an empty typed mart
        "counterfactual_flips": 0,  # no counterfactual scores: an empty typed mart
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

    assert board["model_kind"].tolist() == ["baseline", "api"]
    labels = query(
        result["path"], "SELECT * FROM label_frequency WHERE model = 'm_bad' AND split = 'held_out' ORDER BY label"
    )
    assert labels[["label", "n_predicted", "n_reference", "n_both"]].to_dict("records") == [
        {"label": "cat", "n_predicted": 0, "n_reference": 1, "n_both": 0},
        {"label": "dog", "n_predicted": 1, "n_reference": 1, "n_both": 0},
        {"label": "sofa", "n_predicted": 0, "n_reference": 1, "n_both": 0},
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
    assert set(meta["name"]) == set(result["tables"]) | set(result["empty"]) | set(result["models"])
    assert set(meta.loc[meta["kind"] == "empty table", "name"]) == set(result["empty"])


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


def test_leaderboard_counts_only_batches_with_scored_images(tables: Path, tmp_path: Path) -> None:
    """Issue 13, finding 8: a landing batch has no reference labels, so no scored image; it is no batch
    the leaderboard's scores rest on."""
    from workbench_dagster.evaluation.scores import EVAL_COLUMNS

    for model in ("m_good", "m_bad"):
        write(
            tables,
            f"eval_scores/landing_march/{model}.parquet",
            [
                {
                    **dict.fromkeys(EVAL_COLUMNS),
                    "model": model,
                    "batch": "landing_march",
                    "is_training_batch": False,
                    "n_images": 3,
                    "n_scored": 0,
                    "n_failed": 0,
                }
            ],
        )
    result = build_warehouse(tables, REPO_SQL, tmp_path / "warehouse.duckdb")
    board = query(result["path"], "SELECT * FROM model_leaderboard ORDER BY rank")
    assert board["n_batches"].tolist() == [1, 1]
    assert board["n_images"].tolist() == [2, 2]
    assert board["f1_micro"].tolist() == pytest.approx([0.9, 0.1])
