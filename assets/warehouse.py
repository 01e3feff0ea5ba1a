"""The warehouse stage: the analysts' DuckDB file, views over every Parquet table plus the SQL marts."""

from pathlib import Path

import dagster as dg

from assets._shared.metadata import preview
from assets._shared.stage import stage_asset, stage_definitions
from assets._shared.updates import update_metadata
from resources.workbench import WorkbenchResource
from workbench_dagster.scenario.config import WorkbenchConfig, is_remote
from workbench_dagster.warehouse.build import build_warehouse, query
from workbench_dagster.warehouse.publish import publish_warehouse
from workbench_dagster.warehouse.table_rules import checked_tables

STAGE = "warehouse"
SQL_DIR = Path(__file__).resolve().parent.parent / "dbt_like_sql"


def warehouse(context: dg.AssetExecutionContext, workbench: WorkbenchResource) -> dg.MaterializeResult:
    """Built into a new file and renamed over the old one, so an analyst with it open never sees a
    half-written state and never blocks a run. Marts come from `dbt_like_sql/`, ordered by the
    tables their SQL reads."""
    cfg = workbench.config
    board_sql = "select * from model_leaderboard order by rank"
    if is_remote(cfg.tables_dir):  # built in a temporary folder, published as one object (warehouse/publish.py)
        built, leaderboard = publish_warehouse(cfg.tables_dir, SQL_DIR, cfg.warehouse, board_sql)
    else:
        built = build_warehouse(cfg.tables_dir, SQL_DIR, cfg.warehouse)
        leaderboard = query(cfg.warehouse, board_sql)
    context.log.info(f"warehouse published at {cfg.warehouse}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(cfg.warehouse)),
            "views": built["views"],
            "marts": built["models"],
            "build_order": built["order"],
            "leaderboard": preview(leaderboard, rows=20),
            "dagster/row_count": sum(built["models"].values()),
            **update_metadata(context, cfg),
        }
    )


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    """It reads every checked table from its Parquet files, not through the IO manager: deps, not ins."""
    asset = stage_asset(STAGE, kinds={"duckdb", "sql"}, deps=checked_tables(config) + ["baseline_models"])(
        warehouse
    )
    return stage_definitions(config, STAGE, [asset])
