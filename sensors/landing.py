"""New image folders in the landing area become batch partitions and flow to the graph."""

import dagster as dg

from assets._shared.partitions import BATCH_PARTITIONS
from resources.workbench import WorkbenchResource
from workbench_dagster.storage.landing import scan_landing


def build_landing_sensor(ingest_job) -> dg.SensorDefinition:
    @dg.sensor(
        job=ingest_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Watches the landing folder; each folder is a batch, each content change a new run.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, workbench: WorkbenchResource):
        batches = scan_landing(workbench.config.landing_dir)
        if not batches:
            return dg.SkipReason(f"no image folders in {workbench.config.landing_dir}")
        existing = set(context.instance.get_dynamic_partitions(BATCH_PARTITIONS.name))
        new = [b.batch for b in batches if b.batch not in existing]
        return dg.SensorResult(
            # The run key holds the content hash: the same bytes never run twice, new bytes always do.
            run_requests=[
                dg.RunRequest(
                    run_key=f"{b.batch}:{b.content_hash}",
                    partition_key=b.batch,
                    tags={"workbench/landing_folder": str(b.folder)},
                )
                for b in batches
            ],
            dynamic_partitions_requests=[BATCH_PARTITIONS.build_add_request(new)] if new else [],
        )

    return landing_sensor
