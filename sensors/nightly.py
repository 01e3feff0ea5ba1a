"""The nightly schedules: the update plan once a night, a safety net for the updates sensor.

One schedule per stage job (a schedule targets one job), staggered from 02:00 UTC in graph order.
Each requests what the sensor would for its job (the stale partitions whose upstream is done), with
the night in the run key, so a run that failed for a reason outside the graph (a provider down, a
key expired) is retried once a night rather than never; what follows it, the sensor carries on.
Nothing stale, nothing requested.
"""

import dagster as dg

from assets._shared.jobs import stage_jobs_in_order
from resources.workbench import WorkbenchResource
from sensors.updates import run_requests

FIRST_TICK_MINUTE = 2 * 60  # 02:00 UTC
MINUTES_BETWEEN_JOBS = 10


def build_nightly_schedules(stage_defs: dg.Definitions, jobs: list) -> list[dg.ScheduleDefinition]:
    by_name = {job.name: job for job in jobs}

    def make(position: int, name: str) -> dg.ScheduleDefinition:
        minute = FIRST_TICK_MINUTE + position * MINUTES_BETWEEN_JOBS

        @dg.schedule(
            name=f"nightly_{name}",
            cron_schedule=f"{minute % 60} {minute // 60 % 24} * * *",
            job=by_name[name],
            execution_timezone="UTC",
            description=f"Nightly: the missing or stale {name} partitions whose upstream is done.",
        )
        def nightly(context: dg.ScheduleEvaluationContext, workbench: WorkbenchResource):
            day = context.scheduled_execution_time.strftime("%Y-%m-%d")
            mine = [
                r
                for r in run_requests(stage_defs, context.instance, workbench.config, f"nightly-{day}-")
                if r.job_name == name
            ]
            return mine or dg.SkipReason(f"every {name} partition is up to date, or waits on its upstream")

        return nightly

    return [make(position, job.name) for position, job in enumerate(stage_jobs_in_order(stage_defs))]
