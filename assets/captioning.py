"""The caption models: the trained baseline, and one row per model per image."""

import dagster as dg
import pandas as pd

from assets.metadata import table_metadata
from assets.partitions import model_and_batch, model_batch_partitions
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.captioning.baseline_registry import REGISTRY_COLUMNS, ensure_baseline
from workbench_dagster.captioning.rows import CAPTION_COLUMNS, ImageInput, caption_with_baseline
from workbench_dagster.scenario.config import WorkbenchConfig

EAGER = dg.AutomationCondition.eager()


def build_captioning_assets(config: WorkbenchConfig) -> list:
    train_batch = dg.SpecificPartitionsPartitionMapping([config.baseline.train_batch])

    @dg.asset(
        group_name="models",
        kinds={"pytorch", "parquet"},
        pool="gpu",
        automation_condition=EAGER,
        ins={
            "prompts": dg.AssetIn(partition_mapping=train_batch),
            "synthetic_images": dg.AssetIn(partition_mapping=train_batch),
        },
    )
    def baseline_models(
        context: dg.AssetExecutionContext,
        workbench: WorkbenchResource,
        gpu: GpuResource,
        prompts: pd.DataFrame,
        synthetic_images: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """The small multi-label CNN every M-LLM must beat, trained on the training batch's reference labels.

        A checkpoint is keyed by a fingerprint of its training data and settings, so an unchanged
        config reuses it instead of training again. Scores on the training batch are flagged and
        left out of the leaderboard.
        """
        cfg = workbench.config
        device, _ = gpu.pick()
        rows = [
            ensure_baseline(cfg, m, prompts, synthetic_images, workbench.image_store, device)
            for m in cfg.models
            if m.backend == "baseline"
        ]
        df = pd.DataFrame(rows, columns=REGISTRY_COLUMNS)
        for row in rows:
            context.log.info(f"{row['model']}: {'trained' if row['trained'] else 'reused'} {row['checkpoint']}")
        return dg.Output(
            df,
            metadata=table_metadata(
                df, ["model", "trained", "n_train", "final_loss", "train_seconds"], device=gpu.describe()
            ),
        )

    @dg.asset(
        partitions_def=model_batch_partitions(config),
        group_name="models",
        kinds={"pytorch", "parquet"},
        pool="gpu",
        automation_condition=EAGER,
    )
    def mllm_captions(
        context: dg.AssetExecutionContext,
        workbench: WorkbenchResource,
        gpu: GpuResource,
        synthetic_images: pd.DataFrame,
        baseline_models: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        """Labels inside the taxonomy and a caption, per model per image, with raw output and parse status.

        Calls are cached: re-materialising an unchanged partition makes no model call. Failures
        are rows with their reason, never dropped and never cached.
        """
        from workbench_dagster.captioning.baseline import BaselineModel

        cfg = workbench.config
        model_id, batch = model_and_batch(context)
        device, _ = gpu.pick()
        model_config = cfg.model(model_id)
        if model_config.backend != "baseline":
            from assets.model_captions import caption_partition_with_model

            return caption_partition_with_model(
                context, workbench, model_config, batch, synthetic_images, device=device, dtype=gpu.pick()[1]
            )
        registry = baseline_models.set_index("model")
        if model_id not in registry.index:
            raise dg.Failure(f"model {model_id!r} has no trained checkpoint; materialize baseline_models first")
        fitted = BaselineModel.load(registry.loc[model_id, "checkpoint"], device)
        store = workbench.image_store
        inputs = [
            ImageInput(
                r["image_id"],
                r["batch"],
                r["sha256"],
                store.get(r["uri"]) if r["status"] == "ok" else None,
                r["error"],
            )
            for r in synthetic_images.to_dict("records")
        ]
        scenario = cfg.scenario_data
        rows, n_called = caption_with_baseline(
            model=fitted,
            model_id=model_id,
            images=inputs,
            label_names={t.id: t.name for t in scenario.taxonomy},
            threshold=cfg.baseline.threshold,
            cache=workbench.call_cache,
            is_training_batch=(batch == cfg.baseline.train_batch),
        )
        df = pd.DataFrame(rows, columns=CAPTION_COLUMNS)
        return dg.Output(
            df,
            metadata=table_metadata(
                df,
                ["image_id", "labels", "caption", "parse_status"],
                model_calls=n_called,
                cache_hits=int(df["cache_hit"].sum()),
                parse_status=df["parse_status"].value_counts().to_dict(),
            ),
        )

    return [baseline_models, mllm_captions]
