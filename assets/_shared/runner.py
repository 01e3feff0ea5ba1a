"""The whole graph in process, job by job in graph order, for `make demo` and the end-to-end test.

Only what the update plan says is missing or stale runs (assets/_shared/updates.py): a second
pass with nothing changed runs nothing, and a new batch runs its own partitions and the corpus
partitions that read it. One run per partition key (a run cannot mix partitions definitions).
Consecutive jobs of one shape share the run when every edge between them maps a key to itself, so
a run never reads a partition it has yet to write. Runs whose process died are released first
(assets/_shared/instance.py). Operators use `dagster dev` instead.
"""

import time
from collections.abc import Callable

import dagster as dg

from assets._shared.instance import release_dead_runs
from assets._shared.jobs import StageJob, stage_jobs_in_order
from assets._shared.partitions import BATCH_PARTITIONS
from assets._shared.updates import failed_blocking_checks, records, targets
from workbench_dagster.freshness import plan_updates
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.storage.landing import scan_landing


def register_batches(instance: dg.DagsterInstance, config: WorkbenchConfig) -> list[str]:
    wanted = config.batch_ids + [b.batch for b in scan_landing(config.landing_dir)]
    existing = set(instance.get_dynamic_partitions(BATCH_PARTITIONS.name))
    missing = [b for b in dict.fromkeys(wanted) if b not in existing]
    if missing:
        instance.add_dynamic_partitions(BATCH_PARTITIONS.name, missing)
    return list(dict.fromkeys(wanted))


def run_steps(jobs: list[StageJob], graph) -> list[list[StageJob]]:
    steps: list[list[StageJob]] = []
    for job in jobs:
        if steps and _can_join(steps[-1], job, graph):
            steps[-1].append(job)
        else:
            steps.append([job])
    return steps


def _can_join(step: list[StageJob], job: StageJob, graph) -> bool:
    if job.shape != step[-1].shape:
        return False
    if job.partitions_def is None:
        return True
    written = {key for other in step for key in other.assets}
    return all(
        isinstance(graph.get_partition_mapping(child, parent), dg.IdentityPartitionMapping)
        for child in job.assets
        for parent in graph.get(child).parent_keys & written
    )


def run_pipeline(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    config: WorkbenchConfig,
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
    force: bool = False,
) -> list[dg.ExecuteInProcessResult]:
    """Runs what is missing or stale, step by step (`force`: every partition, as a full rebuild)."""
    release_dead_runs(instance, log)  # a killed run's pool slot would block this one forever
    batches = register_batches(instance, config)
    runnable = [*defs.assets, *(defs.asset_checks or [])]
    graph = defs.resolve_asset_graph()
    results, skipped = [], 0
    known = None  # the records read so far, kept across steps until a run writes new ones
    for step in run_steps(stage_jobs_in_order(defs), graph):
        names = ", ".join(job.name for job in step)
        with dg.partition_loading_context(dynamic_partitions_store=instance):
            found = targets(defs, config, batches, jobs=step)
        if known is None:
            known = ((lambda pair: None) if force else records(instance), failed_blocking_checks(defs, instance))
        plan = plan_updates(found, *known)
        for pair, reason in plan.blocked.items():
            log(f"  held back {pair}: blocking check failed on {reason}")
        by_key: dict = {}
        for item in plan.items:
            by_key.setdefault(item.key, []).append(item)
        skipped += len({t.key for t in found}) - len(by_key)
        for key, items in by_key.items():
            assets = [dg.AssetKey.from_user_string(a) for item in items for a in item.assets]
            started = time.perf_counter()
            result = dg.materialize(
                runnable,
                instance=instance,
                resources=defs.resources,
                selection=dg.AssetSelection.assets(*assets),
                partition_key=key,
                tags={"workbench/jobs": names},
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
            failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
            why = sorted({r for item in items for r in item.reasons.values()})[0]
            log(
                f"  {str(key or step[0].shape):<26} {time.perf_counter() - started:6.1f}s  {names}"
                + (f"  ({len(assets)} asset(s): {why})" if not force else "")
                + (f"  FAILED CHECKS: {failed_checks}" if failed_checks else "")
            )
            results.append(result)
            known = None
    log(f"  {len(results)} run(s); {skipped} partition run(s) skipped as up to date")
    return results
