"""Review files dropped into data/reviews/inbox/ flow into human_reviews, agreement and the scores."""

import dagster as dg

from assets._shared.partitions import BATCH_PARTITIONS
from resources.workbench import WorkbenchResource
from workbench_dagster.reviews.inbox import inbox_fingerprint, review_files


def build_review_sensor(review_job) -> dg.SensorDefinition:
    @dg.sensor(
        job=review_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Watches data/reviews/inbox/ for Label Studio exports and filled CSV sheets; every "
        "content change re-ingests the inbox for every batch (a bad file is rejected whole by "
        "human_reviews, with <file>.rejected.txt).",
    )
    def review_inbox_sensor(context: dg.SensorEvaluationContext, workbench: WorkbenchResource):
        inbox = workbench.config.data_dir / "reviews" / "inbox"
        files = review_files(inbox)
        if not files:
            return dg.SkipReason(f"no review files in {inbox}")
        batches = context.instance.get_dynamic_partitions(BATCH_PARTITIONS.name)
        if not batches:
            return dg.SkipReason("no batch partitions yet: nothing a review could belong to")
        fingerprint = inbox_fingerprint(inbox)
        # The run key holds the inbox's content hash: the same bytes never run twice, new bytes always do.
        return [
            dg.RunRequest(
                run_key=f"reviews:{batch}:{fingerprint}",
                partition_key=batch,
                tags={"workbench/review_files": str(len(files))},
            )
            for batch in batches
        ]

    return review_inbox_sensor
