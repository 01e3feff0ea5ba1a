"""The demo's short leaderboard: five columns, rounded, no NaN (issue 14, item 5)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import write_rows as write
from workbench_dagster.warehouse.build import build_warehouse
from workbench_dagster.warehouse.leaderboard import SHORT_COLUMNS, short_leaderboard, short_leaderboard_text

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def test_short_leaderboard_reads_without_nan(tables: Path, tmp_path: Path) -> None:
    path = build_warehouse(tables, REPO_SQL, tmp_path / "warehouse.duckdb")["path"]
    board = short_leaderboard(path)
    assert list(board.columns) == SHORT_COLUMNS
    assert board.to_dict("records") == [
        {"rank": 1, "model": "m_good", "kind": "baseline", "F1 (95% CI)": "0.90 [0.70, 0.95]", "beats": "m_bad",
         "cost": "$0.0200"},
        {"rank": 2, "model": "m_bad", "kind": "api", "F1 (95% CI)": "0.10 [-0.10, 0.15]", "beats": "-",
         "cost": "$0.0200"},
    ]  # fmt: skip
    text = short_leaderboard_text(path)
    assert "NaN" not in text and ".0 " not in text and "model_leaderboard" in text
    assert max(len(line) for line in text.splitlines()) < 100


def test_a_model_without_interval_or_kind_shows_dashes(tables: Path, tmp_path: Path) -> None:
    for batch in ("b1", "b2"):
        write(
            tables,
            f"mllm_captions/{batch}/m_new.parquet",
            [{"image_id": f"{batch}-i1", "batch": batch, "model": "m_new"}],
        )
    board = short_leaderboard(build_warehouse(tables, REPO_SQL, tmp_path / "warehouse.duckdb")["path"])
    row = board.set_index("model").loc["m_new"]
    assert (row["kind"], row["F1 (95% CI)"], row["beats"], row["cost"]) == ("-", "-", "-", "$0")
