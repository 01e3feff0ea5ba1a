"""The nightly schedule: rerun what is missing or stale.

`build_schedule_from_partitioned_job` refuses dynamic partitions, so the schedule plans the
runs itself from the instance's materialization records.
"""

from __future__ import annotations

import dagster as dg

from assets.partitions import BATCH_PARTITIONS
from workbench_dagster.config import WorkbenchConfig
from workbench_dagster.freshness import Stage, plan_refresh

BATCH_ASSETS = ("prompts", "synthetic_images", "synthetic_comments")
MODEL_BATCH_ASSETS = ("mllm_captions", "preprocessed_text", "embeddings", "eval_scores")
MODEL_ASSETS = ("semantic_graph", "centrality_table", "communities")


def stages(config: WorkbenchConfig, batches: list[str]) -> list[Stage]:
    models = config.model_ids
    multi = [dg.MultiPartitionKey({"model": m, "batch": b}) for m in models for b in batches]
    train = config.baseline.train_batch
    return [
        Stage("batch", BATCH_ASSETS, tuple(batches), lambda key: []),
        Stage("baseline", ("baseline_models",), (None,),
              lambda key: [("prompts", train), ("synthetic_images", train)], after=("batch",)),
        Stage("model_batch", MODEL_BATCH_ASSETS, tuple(multi),
              lambda key: [(a, key.keys_by_dimension["batch"]) for a in BATCH_ASSETS] + [("baseline_models", None)],
              after=("batch", "baseline")),
        Stage("model", MODEL_ASSETS, tuple(models),
              lambda key: [(a, k) for a in MODEL_BATCH_ASSETS for k in multi if k.keys_by_dimension["model"] == key],
              after=("model_batch",)),
        Stage("warehouse", ("warehouse",), (None,),
              lambda key: [(a, m) for a in MODEL_ASSETS for m in models], after=("model",)),
    ]


def materialized_at(instance: dg.DagsterInstance):
    def timestamp(asset: str, key) -> float | None:
        records_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[str(key)] if key is not None else None)
        records = instance.fetch_materializations(records_filter, limit=1).records
        return records[0].timestamp if records else None

    return timestamp


def build_nightly_schedule(config: WorkbenchConfig) -> dg.ScheduleDefinition:
    @dg.schedule(cron_schedule="0 2 * * *", target=dg.AssetSelection.all(), execution_timezone="UTC",
                 description="Reruns every stage that is missing or stale, most upstream first.")
    def nightly_refresh(context: dg.ScheduleEvaluationContext):
        batches = context.instance.get_dynamic_partitions(BATCH_PARTITIONS.name)
        plan = plan_refresh(stages(config, batches), materialized_at(context.instance))
        if not plan:
            return dg.SkipReason("every stage is fresh")
        day = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "now"
        return [
            dg.RunRequest(
                run_key=f"nightly-{day}-{item.stage}-{item.key}",
                asset_selection=[dg.AssetKey(a) for a in item.assets],
                partition_key=str(item.key) if item.key is not None else None,
                tags={"workbench/reason": item.reason},
            )
            for item in plan
        ]

    return nightly_refresh
