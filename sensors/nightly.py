"""The nightly schedules: rerun what is missing or stale, one schedule per stage job.

`build_schedule_from_partitioned_job` refuses dynamic partitions, so each schedule plans its runs
itself from the instance's materialization records. The jobs, their order and what each reads
come from the asset graph; a job's schedule ticks ten minutes after the one before it.
"""

import dagster as dg

from assets._shared.jobs import StageJob, stage_jobs_in_order
from assets._shared.partitions import BATCH_PARTITIONS, partition_keys
from workbench_dagster.freshness import Job, plan_refresh

FIRST_TICK_MINUTE = 2 * 60  # 02:00 UTC
MINUTES_BETWEEN_JOBS = 10


def upstream_partitions(graph, job: StageJob, key) -> list[tuple[str, str | None]]:
    """The (asset, partition) pairs outside the job that its assets read for `key`, through the
    graph's own partition mappings. Needs a partition loading context for the dynamic batches."""
    pairs = []
    for child in job.assets:
        for parent in sorted(graph.get(child).parent_keys - set(job.assets), key=lambda k: k.to_user_string()):
            name = parent.to_user_string()
            if graph.get(parent).partitions_def is None:
                pairs.append((name, None))
                continue
            mapped = graph.get_parent_partition_keys_for_child(
                str(key) if key is not None else None, parent, child
            ).partitions_subset
            pairs.extend((name, k) for k in mapped.get_partition_keys())
    return pairs


def refresh_jobs(graph, jobs: list[StageJob], batches: list[str]) -> list[Job]:
    return [
        Job(
            name=job.name,
            assets=tuple(k.to_user_string() for k in job.assets),
            keys=tuple(partition_keys(job.partitions_def, batches)),
            upstream=lambda key, job=job: upstream_partitions(graph, job, key),
            after=tuple(sorted(job.reads)),
        )
        for job in jobs
    ]


def materialized_at(instance: dg.DagsterInstance):
    seen: dict[tuple[str, str | None], float | None] = {}  # one tick asks for the same pair many times

    def timestamp(asset: str, key) -> float | None:
        pair = (asset, str(key) if key is not None else None)
        if pair not in seen:
            records_filter = dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(asset), asset_partitions=[pair[1]] if key is not None else None
            )
            records = instance.fetch_materializations(records_filter, limit=1).records
            seen[pair] = records[0].timestamp if records else None
        return seen[pair]

    return timestamp


def build_nightly_schedules(stage_defs: dg.Definitions) -> list:
    """A schedule per stage job, staggered through the night so upstream jobs land first."""
    graph = stage_defs.resolve_asset_graph()
    jobs = stage_jobs_in_order(stage_defs)
    job_defs = {job.name: job for job in stage_defs.jobs}

    def make(position: int, job: StageJob):
        minute = FIRST_TICK_MINUTE + position * MINUTES_BETWEEN_JOBS

        @dg.schedule(
            name=f"nightly_{job.name}",
            cron_schedule=f"{minute % 60} {minute // 60} * * *",
            job=job_defs[job.name],
            execution_timezone="UTC",
            description=f"Nightly: reruns {job.name} partitions that are missing or stale.",
        )
        def nightly(context: dg.ScheduleEvaluationContext):
            batches = context.instance.get_dynamic_partitions(BATCH_PARTITIONS.name)
            with dg.partition_loading_context(dynamic_partitions_store=context.instance):
                plan = [
                    p
                    for p in plan_refresh(refresh_jobs(graph, jobs, batches), materialized_at(context.instance))
                    if p.job == job.name
                ]
            if not plan:
                return dg.SkipReason(f"every {job.name} partition is fresh, or waits on an upstream job")
            day = context.scheduled_execution_time.strftime("%Y-%m-%d")
            return [
                dg.RunRequest(
                    run_key=f"nightly-{day}-{item.job}-{item.key}",
                    partition_key=str(item.key) if item.key is not None else None,
                    tags={"workbench/reason": item.reason},
                )
                for item in plan
            ]

        return nightly

    return [make(position, job) for position, job in enumerate(jobs)]
