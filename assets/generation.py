"""The generation stage: scenario to prompts, images and comments, per batch."""

import dagster as dg
import pandas as pd

from assets._shared.checks import quietly
from assets._shared.metadata import png_markdown, table_metadata, table_output
from assets._shared.partitions import BATCH_PARTITIONS
from assets._shared.rules import backend_failures, code_version
from assets._shared.stage import stage_asset, stage_definitions
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.generation.api_comments import PROMPT_VERSION as COMMENTS_PROMPT_VERSION
from workbench_dagster.generation.comments import generate_comments, images_to_comment
from workbench_dagster.generation.images import contact_sheet, make_images
from workbench_dagster.generation.procedural import RENDERER_VERSION
from workbench_dagster.generation.reference_audit import audit_references, unbacked_reasons
from workbench_dagster.scenario.batches import batch_prompts, comment_spec
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.scenario.fingerprint import LANDING
from workbench_dagster.scenario.prompts import derive_seed
from workbench_dagster.warehouse.table_rules import undecodable_images

STAGE = "generation"
COMMENT_COLUMNS = ["comment_id", "image_id", "batch", "lang", "text", "hashtags", "emojis"]


def prompts(context: dg.AssetExecutionContext, workbench: WorkbenchResource) -> dg.Output[pd.DataFrame]:
    """Prompts of one batch with their spec, reference labels and reference caption, known by construction.

    Seeded: the same config gives byte-identical prompts. A landing batch lists its files instead,
    with no reference.
    """
    df = batch_prompts(workbench.config, context.partition_key)
    return table_output(df, ["image_id", "prompt", "reference_labels"])


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
    with backend_failures():  # e.g. images.backend: gemini without a key: say what to set
        df, rendered = make_images(
            workbench.config, prompts, store, workbench.call_cache, device=device, dtype=dtype
        )
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


def synthetic_comments(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    prompts: pd.DataFrame,
    synthetic_images: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Synthetic social-media comments per stored image (failure rows get none), in the scenario's
    languages, with hashtags and emojis."""
    config = workbench.config
    records = images_to_comment(prompts, synthetic_images)
    if config.comments.backend != "template":  # gemini / openai: one cached call per image
        return _api_comments(context, workbench, records)
    rows = []
    for row in records:
        spec = comment_spec(config, row)
        seed = derive_seed(config.seed, "comments", row["image_id"])
        for comment in generate_comments(
            config.scenario_data, row["image_id"], spec, config.comments.per_image, seed
        ):
            rows.append({**comment, "batch": row["batch"]})
    df = pd.DataFrame(rows, columns=COMMENT_COLUMNS)
    languages = df["lang"].value_counts().to_dict() if len(df) else {}
    return table_output(df, ["comment_id", "lang", "text"], languages=languages)


def _api_comments(context, workbench: WorkbenchResource, records: list[dict]) -> dg.Output[pd.DataFrame]:
    from workbench_dagster.generation.api_comments import generate_api_comments

    config = workbench.config
    records = [{**r, "prompt": r.get("prompt") or "a photo posted by the movement"} for r in records]
    with backend_failures():
        rows, failures, n_called = generate_api_comments(
            scenario=config.scenario_data,
            prompt_rows=records,
            comments_config=config.comments,
            cache=workbench.call_cache,
        )
    for image_id, reason in failures:
        context.log.warning(f"no comments for {image_id}: {reason}")
    df = pd.DataFrame(rows, columns=COMMENT_COLUMNS)
    return table_output(
        df,
        ["comment_id", "lang", "text"],
        languages=df["lang"].value_counts().to_dict() if len(df) else {},
        model_calls=n_called,
        n_failed_images=len(failures),
        failures=dg.MetadataValue.md("\n".join(f"- {i}: {r}" for i, r in failures) or "_none_"),
    )


def reference_audit(
    workbench: WorkbenchResource, prompts: pd.DataFrame, synthetic_images: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """Per image, which reference labels have a primitive the painter drew behind them, so ground truth
    that is not in the picture is caught before anything is scored against it. Images from an image
    model or a landing folder are recorded as not audited: nothing drew them by construction."""
    df = audit_references(workbench.config.scenario_data, prompts, synthetic_images)
    counts = df["status"].value_counts().to_dict()
    return table_output(df, ["image_id", "status", "unbacked_labels", "reason"], statuses=counts)


def _blocking(asset: dg.AssetsDefinition, name: str, description: str):
    """A blocking check of one batch: it reads the partition the asset just wrote."""
    return dg.asset_check(
        asset=asset, name=name, blocking=True, partitions_def=asset.partitions_def, description=description
    )


def _references_drawn(audit: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @_blocking(
        audit, "references_drawn", "Every reference label of a painted image has a drawn primitive behind it."
    )
    def references_drawn(reference_audit: pd.DataFrame) -> dg.AssetCheckResult:
        reasons = unbacked_reasons(reference_audit)
        return dg.AssetCheckResult(
            passed=not reasons,
            metadata={
                "unbacked_images": len(reasons),
                "not_audited": int((reference_audit["status"] == "not_audited").sum()),
                "unbacked": dg.MetadataValue.json(reasons[:20]),
            },
        )

    return references_drawn


def _images_decodable(images: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @_blocking(images, "images_decodable", "Every image marked ok decodes from the store.")
    def images_decodable(workbench: WorkbenchResource, synthetic_images: pd.DataFrame) -> dg.AssetCheckResult:
        bad = undecodable_images(synthetic_images, workbench.image_store.get)
        failed = synthetic_images[synthetic_images["status"] == "failed"]
        return dg.AssetCheckResult(
            passed=not bad,
            metadata={"undecodable": dg.MetadataValue.json(bad[:20]), "failure_rows": len(failed)},
        )

    return images_decodable


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    """Versions follow the configured backend: the painter's for procedural images, the comment
    prompt's for API comments; other backends' recipes live outside this code."""
    per_batch = {"partitions_def": BATCH_PARTITIONS}
    assets = [
        stage_asset(STAGE, **per_batch, kinds={"python", "parquet"}, sources=(LANDING,))(prompts),
        stage_asset(
            STAGE,
            **per_batch,
            kinds={"pillow", "parquet"},
            sources=(LANDING,),
            code_version=code_version(
                renderer=RENDERER_VERSION if config.images.backend == "procedural" else None
            ),
        )(synthetic_images),
        stage_asset(
            STAGE,
            **per_batch,
            kinds={"python", "parquet"},
            code_version=code_version(
                comments_prompt=COMMENTS_PROMPT_VERSION if config.comments.backend != "template" else None
            ),
        )(synthetic_comments),
        stage_asset(
            STAGE, **per_batch, kinds={"python", "parquet"}, code_version=code_version(renderer=RENDERER_VERSION)
        )(reference_audit),
    ]
    checks = quietly(lambda: [_images_decodable(assets[1]), _references_drawn(assets[3])])
    return stage_definitions(config, STAGE, assets, checks=checks)
