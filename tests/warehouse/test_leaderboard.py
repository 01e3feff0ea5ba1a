"""The demo's short leaderboard: five columns, rounded, no NaN (issue 14, item 5)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import write_rows as write
from workbench_dagster.warehouse.build import build_warehouse, query
from workbench_dagster.warehouse.leaderboard import SHORT_COLUMNS, short_leaderboard, short_leaderboard_text

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def test_short_leaderboard_reads_without_nan(tables: Path, tmp_path: Path) -> None:
    path = build_warehouse(tables, REPO_SQL, tmp_path / "warehouse.duckdb")["path"]
    board = short_leaderboard(path)
    assert list(board.columns) == SHORT_COLUMNS
    assert board.to_dict("records") == [
        {"rank": 1, "model": "m_good", "kind": "baseline", "F1 (95% CI)": "0.90 [0.70, 0.95]", "beats": "m_bad",
         "over prompts": "-", "cost": "$0.0200"},
        {"rank": 2, "model": "m_bad", "kind": "api", "F1 (95% CI)": "0.10 [-0.10, 0.15]", "beats": "-",
         "over prompts": "-", "cost": "$0.0200"},
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


def test_prompt_variants_show_their_mean_and_best(tables: Path, tmp_path: Path) -> None:
    figures = {
        "model": "m_good",
        "varied": "threshold",
        "n_variants": 3,
        "f1_variant_mean": 0.8,
        "best_variant": "eager",
    }
    rows = [
        {**figures, "prompt_variant": v, "f1_micro": f1, "is_best": v == "eager"}
        for v, f1 in (("default", 0.82), ("eager", 0.86), ("cautious", 0.72))
    ]
    write(tables, "prompt_sensitivity/m_good.parquet", rows)
    path = build_warehouse(tables, REPO_SQL, tmp_path / "warehouse.duckdb")["path"]
    board = short_leaderboard(path).set_index("model")
    assert board.loc["m_good", "over prompts"] == "avg 0.80, best 0.86 (t:eager)"
    assert board.loc["m_bad", "over prompts"] == "-"  # no variants: nothing to average
    full = query(path, "select * from model_leaderboard where model = 'm_good'").iloc[0]
    assert (full["n_prompt_variants"], full["best_variant"], full["f1_micro_best_variant"]) == (3, "eager", 0.86)
