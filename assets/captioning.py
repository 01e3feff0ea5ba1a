"""The captioning stage: the trained baseline, and one row per model per image from every caption backend."""

import time

import dagster as dg
import pandas as pd

from assets._shared.checks import quietly
from assets._shared.metadata import preview, table_metadata
from assets._shared.partitions import (
    ALL_MODELS_OF_BATCH,
    BATCH_PARTITIONS,
    model_and_batch,
    model_batch_partitions,
)
from assets._shared.rules import backend_failures, code_version
from assets._shared.stage import stage_asset, stage_definitions
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.backends import make_backend
from workbench_dagster.captioning.answer_flags import CAPTION_FLAGS, FLAGS_VERSION, flag_captions, flag_counts
from workbench_dagster.captioning.baseline_recipe import RECIPE_VERSION
from workbench_dagster.captioning.baseline_registry import REGISTRY_COLUMNS, ensure_baseline
from workbench_dagster.captioning.batch_flags import (
    BATCH_FLAGS,
    BATCH_FLAGS_VERSION,
    MIN_OTHER_CAPTIONS,
    batch_flag_table,
    status_counts,
)
from workbench_dagster.captioning.call_cache import SCHEMA_VERSION as CAPTION_SCHEMA_VERSION
from workbench_dagster.captioning.caption_loop import (
    LoopStats,
    Prices,
    RetryPolicy,
    caption_with_backend,
    summarize,
)
from workbench_dagster.captioning.parsing import PROMPT_VERSION, AnswerBounds, render_caption_prompt
from workbench_dagster.captioning.rows import CAPTION_COLUMNS, ImageInput, caption_with_baseline
from workbench_dagster.scenario.config import WorkbenchConfig

STAGE = "captioning"


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
    model_id, batch = model_and_batch(context)
    model_config = workbench.config.model(model_id)
    if model_config.backend != "baseline":
        return _caption_with_model(context, workbench, gpu, model_config, batch, synthetic_images)
    return _caption_with_baseline(workbench, gpu, model_id, batch, synthetic_images, baseline_models)


def _image_inputs(workbench: WorkbenchResource, synthetic_images: pd.DataFrame) -> list[ImageInput]:
    store = workbench.image_store
    return [
        ImageInput(
            r["image_id"],
            r["batch"],
            r["sha256"],
            store.get(r["uri"]) if r["status"] == "ok" else None,
            r["error"],
        )
        for r in synthetic_images.to_dict("records")
    ]


def _caption_with_baseline(workbench, gpu, model_id, batch, synthetic_images, baseline_models) -> dg.Output:
    from workbench_dagster.captioning.baseline import BaselineModel

    cfg = workbench.config
    registry = baseline_models.set_index("model")
    if model_id not in registry.index:
        raise dg.Failure(f"model {model_id!r} has no trained checkpoint; materialize baseline_models first")
    device, _ = gpu.pick()
    rows, n_called = caption_with_baseline(
        model=BaselineModel.load(registry.loc[model_id, "checkpoint"], device),
        model_id=model_id,
        images=_image_inputs(workbench, synthetic_images),
        label_names={t.id: t.name for t in cfg.scenario_data.taxonomy},
        threshold=cfg.baseline.threshold,
        cache=workbench.call_cache,
        is_training_batch=cfg.is_training_batch(batch),
    )
    df = _flagged(workbench, rows)
    return dg.Output(
        df,
        metadata=table_metadata(
            df,
            ["image_id", "labels", "caption", "parse_status", "flags"],
            model_calls=n_called,
            cache_hits=int(df["cache_hit"].sum()),
            parse_status=df["parse_status"].value_counts().to_dict(),
            flags=flag_counts(df["flags"]),
        ),
    )


def _caption_with_model(context, workbench, gpu, model_config, batch, synthetic_images) -> dg.Output:
    """One model x batch partition through a model backend (gemini, openai, transformers, ...)."""
    started = time.perf_counter()
    cfg = workbench.config
    device, dtype = gpu.pick()
    with backend_failures():
        backend = make_backend(model_config, device=device, dtype=dtype)
    label_ids = [t.id for t in cfg.scenario_data.taxonomy]
    label_names = {t.id: t.name for t in cfg.scenario_data.taxonomy}
    stats = LoopStats()
    rows, n_called = caption_with_backend(
        backend=backend,
        images=_image_inputs(workbench, synthetic_images),
        prompt=render_caption_prompt(label_ids, label_names),
        prompt_version=PROMPT_VERSION,
        labels=label_ids,
        label_names=label_names,
        cache=workbench.call_cache,
        concurrency=model_config.concurrency,
        retry=RetryPolicy(max_attempts=model_config.max_retries + 1, max_total_s=model_config.retry_budget_s),
        prices=Prices(model_config.price_per_million_input, model_config.price_per_million_output),
        is_training_batch=cfg.is_training_batch(batch),
        stats=stats,
        bounds=AnswerBounds.of(model_config),
    )
    df = _flagged(workbench, rows)
    summary = summarize(rows)
    context.log.info(
        f"{model_config.id} on {batch}: {n_called} images called ({stats.model_calls} requests), "
        f"{stats.cache_hits} from cache, parse {summary['parse_status']}"
    )
    return dg.Output(
        df,
        metadata=table_metadata(
            df,
            ["image_id", "labels", "caption", "parse_status", "error", "flags"],
            model_calls=stats.model_calls,
            images_called=n_called,
            cache_hits=stats.cache_hits,
            parse_status=summary["parse_status"],
            flags=flag_counts(df["flags"]),
            response_mode=summary["response_mode"],
            n_dropped_labels=summary["n_dropped_labels"],
            total_cost_usd=summary["total_cost_usd"],
            cost_usd_this_run=round(stats.cost_usd_this_run, 6),
            backend=model_config.backend,
            provider_model=model_config.model or "",
            wall_s=round(time.perf_counter() - started, 3),
        ),
    )


def _flagged(workbench: WorkbenchResource, rows: list[dict]) -> pd.DataFrame:
    """The rows as a table, each caption flagged (answer_flags.py); a caption's language is detected once."""
    languages = tuple(sorted(workbench.config.scenario_data.comments.languages))
    flagged, _ = flag_captions(rows, languages, cache=workbench.text_cache)
    return pd.DataFrame(flagged, columns=CAPTION_COLUMNS)


def caption_flags(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    embeddings: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Every caption of the batch, all models, with its flags: those of its row (instruction_like,
    wrong_language) and far_from_others, when the other models' captions of the image agree with each
    other `graph.far_from_others_margin` more than with it (captioning/batch_flags.py). Judged only
    where at least three models captioned the image; `far_status` says which rows were not.
    The networks stage keeps flagged captions out of community keywords and summary prompts."""
    margin = workbench.config.graph.far_from_others_margin
    df = batch_flag_table(mllm_captions, embeddings, margin)
    statuses = status_counts(df)
    if statuses["too_few_other_captions"]:
        context.log.info(
            f"far_from_others not judged for {statuses['too_few_other_captions']} captions of {context.partition_key}: "
            f"it needs captions by at least {MIN_OTHER_CAPTIONS + 1} models of an image"
        )
    columns = ["model", "image_id", "flags", "similarity_to_others", "others_agreement", "far_status"]
    return dg.Output(
        df,
        metadata=table_metadata(
            df,
            columns,
            flagged=preview(_flagged_rows(df), columns=columns),
            flags=flag_counts(df["flags"], BATCH_FLAGS),
            far_status=statuses,
            far_from_others_margin=margin,
            models=sorted(df["model"].unique()) if len(df) else [],
        ),
    )


def _flagged_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows carrying a flag, their flags joined for a preview."""
    flagged = df[[len(f) > 0 for f in df["flags"]]]
    return flagged.assign(flags=[", ".join(f) for f in flagged["flags"]])


def _flag_check(asset_def, name: str, description: str, known, columns: list[str], extra=lambda df: {}):
    """A warning check counting each flag of a table's `flags` column; the rows are kept either way."""

    @dg.asset_check(
        asset=asset_def,
        name=name,
        description=description,
        blocking=False,
        partitions_def=asset_def.partitions_def,
    )
    def _check(table: pd.DataFrame) -> dg.AssetCheckResult:
        counts = flag_counts(table["flags"], known)
        return dg.AssetCheckResult(
            passed=counts["flagged_rows"] == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **counts,
                **extra(table),
                "flagged": preview(_flagged_rows(table), rows=10, columns=columns),
            },
        )

    return _check


def _flag_checks(captions: dg.AssetsDefinition, batch_flags: dg.AssetsDefinition) -> list:
    return [
        _flag_check(
            captions,
            "no_flagged_captions",
            "Warns when captions are flagged (instruction-like text, a language not the scenario's): "
            "they are kept, counted here and left out of community keywords.",
            CAPTION_FLAGS,
            ["image_id", "flags", "caption"],
        ),
        _flag_check(
            batch_flags,
            "no_flagged_batch_captions",
            "Warns when a batch's captions are flagged (instruction-like, wrong language, far from the image's "
            "other captions), with counts per flag and how many captions could not be judged for distance.",
            BATCH_FLAGS,
            ["model", "image_id", "flags", "similarity_to_others"],
            lambda table: {f"far_status_{k}": v for k, v in status_counts(table).items()},
        ),
    ]


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    """One code version for every caption model: the partitions of one asset cannot carry their own,
    so it names the baseline's recipe, the M-LLM prompt, the caption row schema and the flags together."""
    train_batch = dg.SpecificPartitionsPartitionMapping([config.baseline.train_batch])
    baseline = stage_asset(
        STAGE,
        kinds={"pytorch", "parquet"},
        pool="gpu",
        code_version=code_version(baseline_recipe=RECIPE_VERSION),
        ins={
            "prompts": dg.AssetIn(partition_mapping=train_batch),
            "synthetic_images": dg.AssetIn(partition_mapping=train_batch),
        },
    )(baseline_models)
    captions = stage_asset(
        STAGE,
        partitions_def=model_batch_partitions(config),
        kinds={"pytorch", "parquet"},
        pool="gpu",
        code_version=code_version(
            baseline_recipe=RECIPE_VERSION,
            caption_prompt=PROMPT_VERSION,
            caption_schema=CAPTION_SCHEMA_VERSION,
            caption_flags=FLAGS_VERSION,
        ),
    )(mllm_captions)
    all_models = dg.AssetIn(partition_mapping=ALL_MODELS_OF_BATCH)
    batch_flags = stage_asset(
        STAGE,
        partitions_def=BATCH_PARTITIONS,
        kinds={"numpy", "parquet"},
        code_version=code_version(caption_flags=FLAGS_VERSION, batch_flags=BATCH_FLAGS_VERSION),
        ins={"mllm_captions": all_models, "embeddings": all_models},
    )(caption_flags)
    checks = quietly(lambda: _flag_checks(captions, batch_flags))
    return stage_definitions(config, STAGE, [baseline, captions, batch_flags], checks=checks)
