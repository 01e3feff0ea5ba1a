"""The whole graph in process, job by job in graph order, for `make demo` and the end-to-end test.

One run per partition key (a run cannot mix partitions definitions). Consecutive jobs of one shape
share the run when every edge between them maps a key to itself, so a run never reads a partition
it has yet to write. The call cache and the checkpoint fingerprints make a second pass cheap.
Runs whose process died are released first (assets/_shared/instance.py).
Operators use `dagster dev` instead.
"""

import functools
import operator
import time
from collections.abc import Callable

import dagster as dg

from assets._shared.instance import release_dead_runs
from assets._shared.jobs import StageJob, stage_jobs_in_order
from assets._shared.partitions import BATCH_PARTITIONS, partition_keys
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
) -> list[dg.ExecuteInProcessResult]:
    release_dead_runs(instance, log)  # a killed run's pool slot would block this one forever
    batches = register_batches(instance, config)
    runnable = [*defs.assets, *(defs.asset_checks or [])]
    results = []
    for step in run_steps(stage_jobs_in_order(defs), defs.resolve_asset_graph()):
        selection = functools.reduce(operator.or_, (job.selection for job in step))
        names = ", ".join(job.name for job in step)
        for key in partition_keys(step[0].partitions_def, batches):
            started = time.perf_counter()
            result = dg.materialize(
                runnable,
                instance=instance,
                resources=defs.resources,
                selection=selection,
                partition_key=str(key) if key is not None else None,
                tags={"workbench/jobs": names},
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
            failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
            log(
                f"  {str(key or step[0].shape):<26} {time.perf_counter() - started:6.1f}s  {names}"
                + (f"  FAILED CHECKS: {failed_checks}" if failed_checks else "")
            )
            results.append(result)
    return results
