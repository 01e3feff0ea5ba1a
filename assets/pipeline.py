"""The whole graph in process, stage by stage, for `make demo` and the end-to-end test.

One run per partition key (a run cannot mix partitions definitions); the call cache and the
checkpoint fingerprints make a second pass cheap. Operators use `dagster dev` instead.
"""

import time
from collections.abc import Callable

import dagster as dg

from assets.partitions import BATCH_PARTITIONS
from sensors.nightly import stages
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.storage.landing import scan_landing


def register_batches(instance: dg.DagsterInstance, config: WorkbenchConfig) -> list[str]:
    wanted = config.batch_ids + [b.batch for b in scan_landing(config.landing_dir)]
    existing = set(instance.get_dynamic_partitions(BATCH_PARTITIONS.name))
    missing = [b for b in dict.fromkeys(wanted) if b not in existing]
    if missing:
        instance.add_dynamic_partitions(BATCH_PARTITIONS.name, missing)
    return list(dict.fromkeys(wanted))


def run_pipeline(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    config: WorkbenchConfig,
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> list[dg.ExecuteInProcessResult]:
    batches = register_batches(instance, config)
    runnable = [*defs.assets, *(defs.asset_checks or [])]
    resources = defs.resources
    results = []
    for stage in stages(config, batches):
        for key in stage.keys:
            started = time.perf_counter()
            result = dg.materialize(
                runnable,
                instance=instance,
                resources=resources,
                selection=dg.AssetSelection.assets(*stage.assets),
                partition_key=str(key) if key is not None else None,
                tags={"workbench/stage": stage.name},
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
            failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
            log(
                f"  {stage.name:<12} {str(key or ''):<24} {time.perf_counter() - started:6.1f}s"
                + (f"  FAILED CHECKS: {failed_checks}" if failed_checks else "")
            )
            results.append(result)
    return results
