"""The slice_gaps mart on tables made by the slice code from a planted model: the night gap is its first
held-out row, with both ends' F1 and intervals, and the table rules accept the slice tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.evaluation.test_slices import SETTINGS, _planted
from tests.helpers import SCENARIO_FILE, write_config
from workbench_dagster.evaluation.slice_attributes import attribute_frame, specs_of
from workbench_dagster.evaluation.slices import SliceScope, slice_scores
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.scenario.scenario_file import load_scenario
from workbench_dagster.warehouse.build import build_warehouse, query
from workbench_dagster.warehouse.table_rules import validate_table

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


@pytest.fixture(scope="module")
def planted_tables(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    scenario = load_scenario(SCENARIO_FILE)
    prompts = pd.DataFrame([p.as_row() for p in expand_batch(scenario, "b001", 240, seed=3)])
    attributes, _ = attribute_frame(specs_of(prompts), scenario.demographics)
    images = _planted(prompts, drop_day=0.05, drop_night=0.5).assign(batch="b001")
    pooled = slice_scores(
        SliceScope("m", "held_out", None, False, 1), images, attributes, scenario.label_ids, SETTINGS
    )
    one = slice_scores(
        SliceScope("m", "batch", "b001", False, 1), images, attributes, scenario.label_ids, SETTINGS
    )
    root = tmp_path_factory.mktemp("tables")
    (root / "held_out_slice_scores").mkdir()
    (root / "slice_scores" / "b001").mkdir(parents=True)
    pooled.to_parquet(root / "held_out_slice_scores" / "m.parquet", index=False)
    one.to_parquet(root / "slice_scores" / "b001" / "m.parquet", index=False)
    return root, {"held_out_slice_scores": pooled, "slice_scores": one}


def test_slice_gaps_puts_the_planted_night_gap_first(planted_tables, tmp_path):
    root, tables = planted_tables
    path = build_warehouse(root, REPO_SQL, tmp_path / "warehouse.duckdb")["path"]
    gaps = query(path, "select * from slice_gaps")
    top = gaps.iloc[0]
    assert (top["scope"], top["attribute"], top["worst_value"], top["best_value"]) == (
        "held_out",
        "time_of_day",
        "night",
        "day",
    )
    assert bool(top["significant"]) and top["p_adjusted"] <= 0.05 and top["correction"] == "holm"
    assert top["gap"] == pytest.approx(top["best_f1_micro"] - top["worst_f1_micro"])
    assert top["worst_f1_micro_ci_high"] < top["best_f1_micro_ci_low"]
    tested = tables["held_out_slice_scores"].dropna(subset=["gap_p_value"])["attribute"].nunique()
    assert (gaps["scope"] == "held_out").sum() == tested  # one row per tested attribute and scope
    assert set(gaps.loc[gaps["scope"] == "batch", "batch"]) == {"b001"}
    catalog = query(path, "select description from _catalog where name = 'slice_gaps'")
    assert "largest slice gap" in catalog.iloc[0, 0]


def test_the_table_rules_accept_the_slice_tables(planted_tables, tmp_path):
    _, tables = planted_tables
    config = load_config(write_config(tmp_path))
    for name, df in tables.items():
        passed, report, _ = validate_table(config, name, df)
        assert passed, report
    broken = tables["slice_scores"].assign(gap_p_adjusted=1.5)
    assert not validate_table(config, "slice_scores", broken)[0]
