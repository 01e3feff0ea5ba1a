"""The nightly schedule: the update plan once a night, as a safety net for the updates sensor.

It requests what the sensor would (the stale items whose upstream is done), with the night in the
run key, so a run that failed for a reason outside the graph (a provider down, a key expired) is
retried once a night rather than never; what follows it, the sensor carries on. Nothing stale,
nothing requested.
"""

import dagster as dg

from resources.workbench import WorkbenchResource
from sensors.updates import run_requests

NIGHTLY_CRON = "0 2 * * *"  # 02:00 UTC


def build_nightly_schedule(stage_defs: dg.Definitions, jobs: list) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_refresh",
        cron_schedule=NIGHTLY_CRON,
        target=dg.AssetSelection.all(),
        execution_timezone="UTC",
        description="Nightly: the missing or stale partitions whose upstream is done, retried once a night.",
    )
    def nightly_refresh(context: dg.ScheduleEvaluationContext, workbench: WorkbenchResource):
        day = context.scheduled_execution_time.strftime("%Y-%m-%d")
        requests = run_requests(stage_defs, context.instance, workbench.config, f"nightly-{day}-", by_job=False)
        return requests or dg.SkipReason("every partition is up to date, or waits on a run in flight")

    return nightly_refresh
