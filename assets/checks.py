"""Blocking asset checks on every table: Great Expectations 1.x called inside @asset_check."""

import warnings

import dagster as dg
import pandas as pd

from resources.workbench import WorkbenchResource
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.warehouse.table_rules import checked_tables, undecodable_images, validate_table


def _quietly(build):
    """Partitioned asset checks are 'preview' in 1.13, yet they are how a check reads one partition."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return build()


def _expectations_check(asset_def: dg.AssetsDefinition, name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_def,
        name="expectations",
        description=f"Great Expectations suite for {name}: schema, rows, unique ids and value ranges.",
        blocking=True,
        partitions_def=asset_def.partitions_def,
    )
    def _check(workbench: WorkbenchResource, table: pd.DataFrame) -> dg.AssetCheckResult:
        df = table
        passed, report, failures = validate_table(workbench.config, name, df)
        return dg.AssetCheckResult(
            passed=passed,
            metadata={"rows": len(df), "report": dg.MetadataValue.md(report), "failed_expectations": failures},
        )

    return _check


def build_checks(config: WorkbenchConfig, assets_by_name: dict[str, dg.AssetsDefinition]) -> list:
    return _quietly(
        lambda: [
            *(_expectations_check(assets_by_name[name], name) for name in checked_tables(config)),
            _images_decodable(assets_by_name["synthetic_images"]),
        ]
    )


def _images_decodable(images: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=images,
        name="images_decodable",
        blocking=True,
        partitions_def=images.partitions_def,
        description="Every image marked ok decodes from the store.",
    )
    def images_decodable(workbench: WorkbenchResource, synthetic_images: pd.DataFrame) -> dg.AssetCheckResult:
        store = workbench.image_store
        bad = undecodable_images(synthetic_images, store.get)
        failed = synthetic_images[synthetic_images["status"] == "failed"]
        return dg.AssetCheckResult(
            passed=not bad,
            metadata={
                "undecodable": dg.MetadataValue.json(bad[:20]),
                "failure_rows": len(failed),
            },
        )

    return images_decodable
