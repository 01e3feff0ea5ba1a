"""Scenario to prompts, images and comments, per batch."""

import dagster as dg
import pandas as pd

from assets.metadata import png_markdown, table_metadata
from assets.partitions import BATCH_PARTITIONS
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.generation.comments import generate_comments
from workbench_dagster.generation.images import contact_sheet, make_images
from workbench_dagster.scenario.batches import batch_prompts, comment_spec
from workbench_dagster.scenario.prompts import derive_seed

EAGER = dg.AutomationCondition.eager()
COMMENT_COLUMNS = ["comment_id", "image_id", "batch", "lang", "text", "hashtags", "emojis"]


@dg.asset(
    partitions_def=BATCH_PARTITIONS,
    group_name="generation",
    kinds={"python", "parquet"},
)
def prompts(context: dg.AssetExecutionContext, workbench: WorkbenchResource) -> dg.Output[pd.DataFrame]:
    """Prompts of one batch with their spec, reference labels and reference caption, known by construction.

    Seeded: the same config gives byte-identical prompts. A landing batch lists its files instead,
    with no reference.
    """
    df = batch_prompts(workbench.config, context.partition_key)
    return dg.Output(df, metadata=table_metadata(df, ["image_id", "prompt", "reference_labels"]))


@dg.asset(
    partitions_def=BATCH_PARTITIONS,
    group_name="generation",
    kinds={"pillow", "parquet"},
    automation_condition=EAGER,
)
def synthetic_images(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    gpu: GpuResource,
    prompts: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """One image per prompt, stored content-addressed; a file that does not decode becomes a failure row.

    images.backend: diffusers generates on the GPU resource's device and dtype (the others ignore it).
    """
    store = workbench.image_store
    device, dtype = gpu.pick() if workbench.config.images.backend == "diffusers" else (None, None)
    from workbench_dagster.backends.base import BackendUnavailable

    try:
        df, rendered = make_images(
            workbench.config, prompts, store, workbench.call_cache, device=device, dtype=dtype
        )
    except BackendUnavailable as exc:  # e.g. images.backend: gemini without a key: say what to set
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    failed = df[df["status"] == "failed"]
    for reason in failed["error"]:
        context.log.warning(f"image not usable: {reason}")
    metadata = table_metadata(
        df,
        ["image_id", "status", "sha256", "error"],
        n_failed=len(failed),
        rendered=rendered,
        store=store.root.as_posix(),
    )
    sheet = contact_sheet(store, df)
    if sheet:
        metadata["contact_sheet"] = png_markdown(sheet, "first images of the batch")
    return dg.Output(df, metadata=metadata)


@dg.asset(
    partitions_def=BATCH_PARTITIONS,
    group_name="generation",
    kinds={"python", "parquet"},
    automation_condition=EAGER,
)
def synthetic_comments(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, prompts: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """Synthetic social-media comments per image, in the scenario's languages, with hashtags and emojis."""
    config = workbench.config
    if config.comments.backend != "template":  # gemini / openai: one cached call per image
        from workbench_dagster.backends.base import BackendUnavailable
        from workbench_dagster.generation.api_comments import generate_api_comments

        records = [
            {**r, "prompt": r.get("prompt") or "a photo posted by the movement"}
            for r in prompts.to_dict("records")
        ]
        try:
            rows, failures, n_called = generate_api_comments(
                scenario=config.scenario_data,
                prompt_rows=records,
                comments_config=config.comments,
                cache=workbench.call_cache,
            )
        except BackendUnavailable as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        for image_id, reason in failures:
            context.log.warning(f"no comments for {image_id}: {reason}")
        df = pd.DataFrame(rows, columns=COMMENT_COLUMNS)
        return dg.Output(
            df,
            metadata=table_metadata(
                df,
                ["comment_id", "lang", "text"],
                languages=df["lang"].value_counts().to_dict() if len(df) else {},
                model_calls=n_called,
                n_failed_images=len(failures),
                failures=dg.MetadataValue.md("\n".join(f"- {i}: {r}" for i, r in failures) or "_none_"),
            ),
        )
    rows = []
    for row in prompts.to_dict("records"):
        spec = comment_spec(config, row)
        seed = derive_seed(config.seed, "comments", row["image_id"])
        for comment in generate_comments(
            config.scenario_data, row["image_id"], spec, config.comments.per_image, seed
        ):
            rows.append({**comment, "batch": row["batch"]})
    df = pd.DataFrame(rows, columns=COMMENT_COLUMNS)
    languages = df["lang"].value_counts().to_dict() if len(df) else {}
    return dg.Output(df, metadata=table_metadata(df, ["comment_id", "lang", "text"], languages=languages))
