"""Scenario to prompts, images and comments, per batch."""


import dagster as dg
import pandas as pd

from assets.metadata import png_markdown, table_metadata
from assets.partitions import BATCH_PARTITIONS
from resources.workbench import WorkbenchResource
from workbench_dagster.batches import batch_prompts, comment_spec
from workbench_dagster.comments import generate_comments
from workbench_dagster.images import contact_sheet, make_images
from workbench_dagster.scenario import derive_seed

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
def synthetic_images(context: dg.AssetExecutionContext, workbench: WorkbenchResource, prompts: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """One image per prompt, stored content-addressed; a file that does not decode becomes a failure row."""
    store = workbench.image_store
    df, rendered = make_images(workbench.config, prompts, store, workbench.call_cache)
    failed = df[df["status"] == "failed"]
    for reason in failed["error"]:
        context.log.warning(f"image not usable: {reason}")
    metadata = table_metadata(df, ["image_id", "status", "sha256", "error"], n_failed=len(failed), rendered=rendered,
                              store=store.root.as_posix())
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
def synthetic_comments(context: dg.AssetExecutionContext, workbench: WorkbenchResource, prompts: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Synthetic social-media comments per image, in the scenario's languages, with hashtags and emojis."""
    config = workbench.config
    rows = []
    for row in prompts.to_dict("records"):
        spec = comment_spec(config, row)
        seed = derive_seed(config.seed, "comments", row["image_id"])
        for comment in generate_comments(config.scenario_data, row["image_id"], spec, config.comments.per_image, seed):
            rows.append({**comment, "batch": row["batch"]})
    df = pd.DataFrame(rows, columns=COMMENT_COLUMNS)
    languages = df["lang"].value_counts().to_dict() if len(df) else {}
    return dg.Output(df, metadata=table_metadata(df, ["comment_id", "lang", "text"], languages=languages))
