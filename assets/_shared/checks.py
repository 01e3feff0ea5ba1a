"""The blocking Great Expectations check of every checked table, built for whichever stage holds it."""

import warnings
from collections.abc import Callable

import dagster as dg
import pandas as pd

from resources.workbench import WorkbenchResource
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.warehouse.table_rules import checked_tables, validate_table


def quietly(build: Callable[[], list]) -> list:
    """Partitioned asset checks are 'preview' in 1.13, yet they are how a check reads one partition."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return build()


def expectation_checks(config: WorkbenchConfig, assets: list[dg.AssetsDefinition]) -> list:
    checked = set(checked_tables(config))
    return quietly(
        lambda: [
            _expectations_check(a, a.key.to_user_string()) for a in assets if a.key.to_user_string() in checked
        ]
    )


def _expectations_check(asset_def: dg.AssetsDefinition, name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_def,
        name="expectations",
        description=f"Great Expectations suite for {name}: schema, rows, unique ids and value ranges.",
        blocking=True,
        partitions_def=asset_def.partitions_def,
    )
    def _check(workbench: WorkbenchResource, table: pd.DataFrame) -> dg.AssetCheckResult:
        passed, report, failures = validate_table(workbench.config, name, table)
        return dg.AssetCheckResult(
            passed=passed,
            metadata={"rows": len(table), "report": dg.MetadataValue.md(report), "failed_expectations": failures},
        )

    return _check
