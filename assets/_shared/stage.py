"""One vocabulary: a stage's asset group, its `workbench/stage` tag and its jobs share its name.

Every asset is declared through `stage_asset`, so group and tags cannot disagree, and every stage
module returns `stage_definitions`, so its jobs select by tag and its tables get their checks.
A job holds one partitions shape (a run cannot mix them), so a stage has one job per shape its
assets have, named `<stage>__<shape>`: always with the shape, so a name says what a run's partition
key is, and never the name of an asset (`warehouse` is both a stage and its asset; Dagster refuses
a job and an op of one name).
"""

import dagster as dg

from assets._shared.checks import expectation_checks
from assets._shared.partitions import shape_of
from assets._shared.rules import EAGER
from workbench_dagster.scenario.config import WorkbenchConfig

STAGE_TAG = "workbench/stage"
SHAPE_TAG = "workbench/partitions"


def stage_asset(stage: str, *, partitions_def=None, automation_condition=EAGER, **asset_args):
    """`dg.asset` with the stage as group and tag, the partitions shape as tag, and eager
    automation unless the asset says otherwise."""
    return dg.asset(
        group_name=stage,
        partitions_def=partitions_def,
        tags={STAGE_TAG: stage, SHAPE_TAG: shape_of(partitions_def)},
        automation_condition=automation_condition,
        **asset_args,
    )


def stage_selection(stage: str, shape: str) -> dg.AssetSelection:
    return dg.AssetSelection.tag(STAGE_TAG, stage) & dg.AssetSelection.tag(SHAPE_TAG, shape)


def stage_jobs(stage: str, assets: list[dg.AssetsDefinition]) -> list:
    shapes = dict.fromkeys(shape_of(a.partitions_def) for a in assets)
    return [
        dg.define_asset_job(
            f"{stage}__{shape}",
            selection=stage_selection(stage, shape),
            description=f"The {stage} stage's {shape} assets, selected by their tags.",
            tags={STAGE_TAG: stage, SHAPE_TAG: shape},
        )
        for shape in shapes
    ]


def stage_definitions(
    config: WorkbenchConfig, stage: str, assets: list[dg.AssetsDefinition], checks: list = ()
) -> dg.Definitions:
    return dg.Definitions(
        assets=assets,
        asset_checks=[*expectation_checks(config, assets), *checks],
        jobs=stage_jobs(stage, assets),
    )
