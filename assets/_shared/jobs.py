"""The stage jobs in the order the asset graph runs them, read from the jobs' tag selections.

The in-process runner and the nightly schedules walk this one list, so neither names an asset:
a new asset joins its stage's job, its place in the order and its upstream by its tags and deps.
"""

from dataclasses import dataclass

import dagster as dg

from assets._shared.stage import SHAPE_TAG, STAGE_TAG


@dataclass(frozen=True)
class StageJob:
    name: str
    stage: str
    shape: str
    selection: dg.AssetSelection
    assets: tuple[dg.AssetKey, ...]
    partitions_def: dg.PartitionsDefinition | None
    reads: frozenset[str]  # the other stage jobs whose assets this job's assets read


def stage_jobs_in_order(defs: dg.Definitions) -> list[StageJob]:
    """Upstream jobs first; among jobs ready at once, one of the same shape as the job just placed
    (so runs of one shape can share a partition key), else the first declared."""
    graph = defs.resolve_asset_graph()
    declared = [job for job in defs.jobs if STAGE_TAG in job.tags]
    keys = {
        job.name: tuple(sorted(job.selection.resolve(graph), key=lambda k: k.to_user_string())) for job in declared
    }
    owner = {key: name for name, owned in keys.items() for key in owned}
    jobs = [
        StageJob(
            name=job.name,
            stage=job.tags[STAGE_TAG],
            shape=job.tags[SHAPE_TAG],
            selection=job.selection,
            assets=keys[job.name],
            partitions_def=graph.get(keys[job.name][0]).partitions_def,
            reads=frozenset(
                owner[parent] for key in keys[job.name] for parent in graph.get(key).parent_keys if parent in owner
            )
            - {job.name},
        )
        for job in declared
    ]
    return _upstream_first(jobs)


def _upstream_first(jobs: list[StageJob]) -> list[StageJob]:
    placed: list[StageJob] = []
    pending = list(jobs)
    while pending:
        done = {job.name for job in placed}
        ready = [job for job in pending if job.reads <= done]
        if not ready:
            raise ValueError(f"stage jobs read each other in a cycle: {[job.name for job in pending]}")
        same_shape = [job for job in ready if placed and job.shape == placed[-1].shape]
        placed.append((same_shape or ready)[0])
        pending.remove(placed[-1])
    return placed
