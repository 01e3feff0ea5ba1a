"""The nightly schedule: rerun what is missing or stale.

`build_schedule_from_partitioned_job` refuses dynamic partitions, so the schedule plans the
runs itself from the instance's materialization records.
"""

import dagster as dg

from assets.partitions import BATCH_PARTITIONS
from workbench_dagster.freshness import Stage, plan_refresh
from workbench_dagster.scenario.config import WorkbenchConfig

BATCH_ASSETS = ("prompts", "synthetic_images", "synthetic_comments")
MODEL_BATCH_ASSETS = (
    "mllm_captions",
    "preprocessed_text",
    "embeddings",
    "eval_scores",
    "image_scores",
    "per_label_scores",
)
MODEL_ASSETS = ("semantic_graph", "centrality_table", "communities")
NETWORK_COMPARE_ASSETS = ("network_comparison", "image_divergence")  # unpartitioned, reading every model
MODEL_EVAL_ASSETS = (
    "metric_intervals",
    "model_comparisons",
    "baseline_versions",
)  # per model, reading every batch
BATCH_EVAL_ASSETS = (
    "review_queue",
    "human_reviews",
    "human_eval_scores",
    "agreement",
    "drift",
)  # per batch, reading every model


def stages(config: WorkbenchConfig, batches: list[str]) -> list[Stage]:
    models = config.model_ids
    multi = [dg.MultiPartitionKey({"model": m, "batch": b}) for m in models for b in batches]
    train = config.baseline.train_batch
    return [
        Stage("batch", BATCH_ASSETS, tuple(batches), lambda key: []),
        Stage(
            "baseline",
            ("baseline_models",),
            (None,),
            lambda key: [("prompts", train), ("synthetic_images", train)],
            after=("batch",),
        ),
        Stage(
            "model_batch",
            MODEL_BATCH_ASSETS,
            tuple(multi),
            lambda key: [(a, key.keys_by_dimension["batch"]) for a in BATCH_ASSETS] + [("baseline_models", None)],
            after=("batch", "baseline"),
        ),
        Stage(
            "batch_eval",
            BATCH_EVAL_ASSETS,
            tuple(batches),
            lambda key: [("mllm_captions", k) for k in multi if k.keys_by_dimension["batch"] == key],
            after=("model_batch",),
        ),
        Stage(
            "model_eval",
            MODEL_EVAL_ASSETS,
            tuple(models),
            lambda key: [("image_scores", k) for k in multi] + [("human_reviews", b) for b in batches],
            after=("model_batch", "batch_eval"),
        ),
        Stage(
            "model",
            MODEL_ASSETS,
            tuple(models),
            lambda key: (
                [(a, k) for a in MODEL_BATCH_ASSETS for k in multi if k.keys_by_dimension["model"] == key]
                + [("synthetic_images", b) for b in batches]
                + [("baseline_models", None)]
            ),
            after=("model_batch",),
        ),
        Stage(
            "network_compare",
            NETWORK_COMPARE_ASSETS,
            (None,),
            lambda key: [(a, m) for a in MODEL_ASSETS for m in models],
            after=("model",),
        ),
        Stage(
            "warehouse",
            ("warehouse",),
            (None,),
            lambda key: (
                [(a, m) for a in MODEL_ASSETS + MODEL_EVAL_ASSETS for m in models]
                + [(a, b) for a in BATCH_EVAL_ASSETS for b in batches]
                + [(a, None) for a in NETWORK_COMPARE_ASSETS]
            ),
            after=("model", "network_compare", "model_eval", "batch_eval"),
        ),
    ]


def materialized_at(instance: dg.DagsterInstance):
    def timestamp(asset: str, key) -> float | None:
        records_filter = dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset), asset_partitions=[str(key)] if key is not None else None
        )
        records = instance.fetch_materializations(records_filter, limit=1).records
        return records[0].timestamp if records else None

    return timestamp


STAGE_JOBS = {
    "batch": ("ingest_batch", "0 2 * * *"),
    "baseline": ("train_baseline", "15 2 * * *"),
    "model_batch": ("caption_and_score", "30 2 * * *"),
    "model": ("build_networks", "0 3 * * *"),
    "network_compare": ("compare_networks", "15 3 * * *"),
    "model_eval": ("score_models", "45 2 * * *"),
    "batch_eval": ("score_agreement", "50 2 * * *"),
    "warehouse": ("publish_warehouse", "30 3 * * *"),
}


def build_stage_jobs(config: WorkbenchConfig) -> dict:
    """One job per stage: a run cannot mix partitions definitions, so neither can a job."""
    jobs = {}
    for stage in stages(config, []):
        job_name, _ = STAGE_JOBS[stage.name]
        jobs[stage.name] = dg.define_asset_job(
            job_name,
            selection=list(stage.assets),
            description=f"The {stage.name} stage: {', '.join(stage.assets)}.",
        )
    return jobs


def build_nightly_schedules(config: WorkbenchConfig, jobs: dict) -> list:
    """A schedule per stage, staggered through the night so upstream stages land first."""

    def make(stage_name: str):
        job_name, cron = STAGE_JOBS[stage_name]

        @dg.schedule(
            name=f"nightly_{stage_name}",
            cron_schedule=cron,
            job=jobs[stage_name],
            execution_timezone="UTC",
            description=f"Nightly: reruns {stage_name} partitions that are missing or stale.",
        )
        def nightly(context: dg.ScheduleEvaluationContext):
            batches = context.instance.get_dynamic_partitions(BATCH_PARTITIONS.name)
            plan = [
                p
                for p in plan_refresh(stages(config, batches), materialized_at(context.instance))
                if p.stage == stage_name
            ]
            if not plan:
                return dg.SkipReason(f"every {stage_name} partition is fresh, or waits on an upstream stage")
            day = context.scheduled_execution_time.strftime("%Y-%m-%d")
            return [
                dg.RunRequest(
                    run_key=f"nightly-{day}-{item.stage}-{item.key}",
                    partition_key=str(item.key) if item.key is not None else None,
                    tags={"workbench/reason": item.reason},
                )
                for item in plan
            ]

        return nightly

    return [make(name) for name in STAGE_JOBS]
