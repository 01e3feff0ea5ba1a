"""One sensor carries every change through the graph: new landing folders, new review files, a new
batch in the config, an edited config or code version.

Each tick it registers the batches the config and the landing area name, asks the update plan
(assets/_shared/updates.py) what is missing or stale, and launches only the items whose upstream
items are done: one run per (stage job, partition key), with just the stale assets of that job
selected. Downstream items wait for the next ticks, so a chain runs once, in order, instead of
firing on each upstream as it lands (what eager automation did: 100+ runs for one folder). The run
key is the item's state, so a run in flight or one that failed is not launched again until
something it reads changes. When nothing is stale, nothing is launched.
"""

import os
import time

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from assets._shared.partitions import BATCH_PARTITIONS
from assets._shared.updates import plan
from resources.workbench import WorkbenchResource
from workbench_dagster.storage.landing import scan_landing

REASON_TAG = "workbench/reason"
NOT_ENDED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, *IN_PROGRESS_RUN_STATUSES]
# How often the plan is asked; tests and the landing benchmark set it lower to finish sooner.
INTERVAL_SECONDS = int(os.environ.get("WORKBENCH_UPDATES_INTERVAL", "30"))


# A landing folder joins the plan once nothing in it changed for this long: a folder still being
# copied would otherwise run once per tick of the copy, each time with more files.
def settle_seconds() -> float:
    return float(os.environ.get("WORKBENCH_LANDING_SETTLE", "10"))


def wanted_batches(config, settle_seconds: float = 0.0) -> list[str]:
    """The config's batches and the landing area's settled folders."""
    now = time.time()
    landed = [b.batch for b in scan_landing(config.landing_dir) if now - b.last_change() >= settle_seconds]
    return list(dict.fromkeys(config.batch_ids + landed))


def run_requests(
    stage_defs: dg.Definitions, instance, config, run_key_prefix: str, by_job: bool = True
) -> list[dg.RunRequest]:
    """`by_job`: run as the item's stage job (a sensor may target many jobs); otherwise as a selection
    of the target's assets (a schedule targets one)."""
    # A run in flight changes the plan as it goes (its first assets land, the rest are still
    # missing), so its (job, partition) is never launched again until it has ended. Asked before
    # the records are read: a run that ends in between has then left its records for the plan.
    in_flight = {
        (r.dagster_run.job_name, r.dagster_run.tags.get("dagster/partition"))
        for r in instance.get_run_records(dg.RunsFilter(statuses=NOT_ENDED))
    }
    found = plan(stage_defs, instance, config, wanted_batches(config, settle_seconds()))
    return [
        dg.RunRequest(
            run_key=f"{run_key_prefix}{item.job}:{item.key}:{item.state()}",
            job_name=item.job if by_job else None,
            partition_key=item.key,
            asset_selection=[dg.AssetKey.from_user_string(a) for a in item.assets],
            tags={REASON_TAG: "; ".join(f"{a}: {r}" for a, r in item.reasons.items())[:1000]},
        )
        for item in found.ready()
        if (item.job, item.key) not in in_flight
    ]


def build_updates_sensor(stage_defs: dg.Definitions, jobs: list) -> dg.SensorDefinition:
    @dg.sensor(
        name="workbench_updates",
        jobs=jobs,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Registers new batches (config, landing folders) and launches the stale partitions whose "
        "upstream is done: one run per stage job and partition, nothing when nothing changed.",
    )
    def workbench_updates(context: dg.SensorEvaluationContext, workbench: WorkbenchResource):
        config = workbench.config
        existing = set(context.instance.get_dynamic_partitions(BATCH_PARTITIONS.name))
        new = [b for b in wanted_batches(config, settle_seconds()) if b not in existing]
        if new:  # planned next tick, once the partitions exist
            return dg.SensorResult(dynamic_partitions_requests=[BATCH_PARTITIONS.build_add_request(new)])
        requests = run_requests(stage_defs, context.instance, config, "")
        if not requests:
            return dg.SkipReason("nothing is missing or stale, or what is waits on a run in flight")
        return dg.SensorResult(run_requests=requests)

    return workbench_updates
