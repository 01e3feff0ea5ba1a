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
from resources.executors import deployed_executor  # WORKBENCH_EXECUTOR=k8s on a cluster (deploy/)
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.scenario.fingerprint import SOURCES_METADATA

STAGE_TAG = "workbench/stage"
SHAPE_TAG = "workbench/partitions"


def stage_asset(stage: str, *, partitions_def=None, sources: tuple[str, ...] = (), **asset_args):
    """`dg.asset` with the stage as group and tag, the partitions shape as tag, and `sources`: what
    the asset reads outside the graph (workbench_dagster/scenario/fingerprint.py), so that a change
    there makes it stale. No automation condition: the updates sensor runs what is stale."""
    metadata = {**asset_args.pop("metadata", {}), **({SOURCES_METADATA: ",".join(sources)} if sources else {})}
    return dg.asset(
        group_name=stage,
        partitions_def=partitions_def,
        tags={STAGE_TAG: stage, SHAPE_TAG: shape_of(partitions_def)},
        metadata=metadata or None,
        **asset_args,
    )


def stage_selection(stage: str, shape: str) -> dg.AssetSelection:
    return dg.AssetSelection.tag(STAGE_TAG, stage) & dg.AssetSelection.tag(SHAPE_TAG, shape)


# Runs are small (one partition of one stage): a process per step (the multiprocess executor) costs
# more than the step, and one GPU serialises the heavy ones anyway, so jobs run in process, except
# where independent, CPU-bound steps truly run side by side: the per-model bootstraps (intervals and
# paired comparisons) and the cross-model network comparisons.
PARALLEL_JOBS = {"evaluation__model": 2, "networks__unpartitioned": 2}


def job_executor(name: str) -> dg.ExecutorDefinition:
    if name in PARALLEL_JOBS:
        return dg.multiprocess_executor.configured({"max_concurrent": PARALLEL_JOBS[name]})
    return dg.in_process_executor


def stage_jobs(stage: str, assets: list[dg.AssetsDefinition]) -> list:
    shapes = dict.fromkeys(shape_of(a.partitions_def) for a in assets)
    return [
        dg.define_asset_job(
            f"{stage}__{shape}",
            selection=stage_selection(stage, shape),
            description=f"The {stage} stage's {shape} assets, selected by their tags.",
            tags={STAGE_TAG: stage, SHAPE_TAG: shape},
            executor_def=deployed_executor(assets) or job_executor(f"{stage}__{shape}"),
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
