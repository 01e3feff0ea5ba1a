"""The dataset stage (issue 17): the quality and balance of the generated set, and the dataset others
download.

`image_quality` and `dataset_balance` are per batch; `near_duplicates` compares every batch's hashes
(cheap, and the only way to find a duplicate across batches without a batch reading the others);
`dataset_export` writes, per scenario, the folder and zip under <data_dir>/share/dataset/. Checks on
duplicates and balance warn: they inform whoever uses the data, they stop nothing.
"""

import dagster as dg
import pandas as pd

from assets._shared.metadata import figure_png, png_markdown, preview, table_output
from assets._shared.partitions import BATCH_PARTITIONS
from assets._shared.rules import code_version
from assets._shared.stage import stage_asset, stage_definitions
from resources.workbench import WorkbenchResource
from workbench_dagster.dataset import DATASET_VERSION
from workbench_dagster.dataset.balance import attribute_summary, balance_chart
from workbench_dagster.dataset.balance import dataset_balance as balance_of
from workbench_dagster.dataset.quality import construction_groups, summary
from workbench_dagster.dataset.quality import image_quality as quality_of
from workbench_dagster.dataset.quality import near_duplicates as duplicates_of
from workbench_dagster.dataset.share import Tables, export_dataset
from workbench_dagster.scenario.config import WorkbenchConfig

STAGE = "dataset"
EVERY_BATCH = {"partition_mapping": dg.AllPartitionMapping(), "metadata": {"allow_missing_partitions": True}}


def _warn(name: str, passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name, passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata
    )


def image_quality(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    synthetic_images: pd.DataFrame,
    prompts: pd.DataFrame,
):
    """Per image of the batch: resolution, sharpness (variance of the Laplacian), brightness, RMS contrast,
    colourfulness (Hasler-Suesstrunk) and a 64-bit perceptual hash, with its nearest image in the batch.
    A failed image keeps its row with the reason. `no_near_duplicates_in_batch` warns on images within
    `dataset.near_duplicate_bits` of another, except a counterfactual redraw and its original (alike on
    purpose)."""
    bits = workbench.config.dataset.near_duplicate_bits
    df = quality_of(synthetic_images, workbench.image_store.get, bits, construction_groups(prompts))
    near = df[df["n_near_duplicates"] > 0]
    yield table_output(
        df,
        ["image_id", "status", "sharpness", "brightness", "contrast", "colourfulness", "nearest_distance"],
        n_failed=int((df["status"] != "ok").sum()),
        n_with_near_duplicate=len(near),
        metrics=dg.MetadataValue.json(summary(df)),
    )
    yield _warn(
        "no_near_duplicates_in_batch",
        near.empty,
        near_duplicates=preview(near, rows=20, columns=["image_id", "nearest_image_id", "nearest_distance"]),
        threshold_bits=bits,
    )


def near_duplicates(workbench: WorkbenchResource, image_quality: pd.DataFrame, prompts: pd.DataFrame):
    """Every pair of images whose perceptual hashes differ in at most `dataset.near_duplicate_bits` of 64,
    within a batch and across batches: a near-duplicate counted twice inflates every score measured on
    the set. A counterfactual redraw and its original are alike on purpose (`counterfactual_pair`);
    `no_near_duplicates` warns on any other pair."""
    bits = workbench.config.dataset.near_duplicate_bits
    quality = image_quality if len(image_quality) else _no_quality()
    df = duplicates_of(quality, bits, construction_groups(prompts))
    scopes = df["scope"].value_counts().to_dict() if len(df) else {}
    unexplained = df[df["scope"] != "counterfactual_pair"]
    yield table_output(df, threshold_bits=bits, scopes=dg.MetadataValue.json(scopes))
    yield _warn("no_near_duplicates", unexplained.empty, pairs=preview(unexplained, rows=20), threshold_bits=bits)


def _no_quality() -> pd.DataFrame:
    from workbench_dagster.dataset.quality import QUALITY_COLUMNS

    return pd.DataFrame(columns=QUALITY_COLUMNS)


def dataset_balance(context: dg.AssetExecutionContext, workbench: WorkbenchResource, prompts: pd.DataFrame):
    """The batch's distribution of every spec attribute, reference label and declared demographic against
    the scenario's targets (uniform where it declares none, as `target_source` says), with Jensen-Shannon
    distance and chi-square per attribute. `balanced` warns on an attribute whose distance exceeds
    `dataset.balance_max_js` with p below `dataset.balance_alpha`."""
    cfg = workbench.config
    df = balance_of(
        cfg.scenario_data, prompts, context.partition_key, cfg.dataset.balance_max_js, cfg.dataset.balance_alpha
    )
    per_attribute = attribute_summary(df)
    off = per_attribute[per_attribute["exceeds"]]
    pictures = {}
    if (df["status"] == "ok").any():
        chart = balance_chart(df, f"{context.partition_key}: batch (purple) against the scenario's target (grey)")
        pictures["balance_chart"] = png_markdown(figure_png(chart), "balance of every attribute")
    largest = per_attribute.dropna(subset=["js_distance"]).sort_values("js_distance", ascending=False)
    yield table_output(
        df,
        ["attribute", "value", "observed_share", "target_share", "js_distance", "p_value"],
        pictures,
        attributes=preview(per_attribute, rows=30),
        largest_js=dg.MetadataValue.text(
            f"{largest.iloc[0]['attribute']} ({largest.iloc[0]['js_distance']:.3f})" if len(largest) else "none"
        ),
        not_recorded=dg.MetadataValue.json(
            sorted(per_attribute.loc[per_attribute["status"] == "not_recorded", "attribute"])
        ),
    )
    yield _warn(
        "balanced",
        off.empty,
        off_balance=preview(off, rows=30),
        max_js=cfg.dataset.balance_max_js,
        alpha=cfg.dataset.balance_alpha,
    )


def _export(context, workbench: WorkbenchResource, tables: Tables, note: str) -> dg.Output:
    manifest, info = export_dataset(workbench.config, tables, workbench.image_store.get, note)
    excluded = manifest[~manifest["included"]]
    for reason, n in excluded["reason"].value_counts().items():
        context.log.info(f"not exported: {n} image(s): {reason}")
    return table_output(
        manifest,
        ["image_id", "batch", "included", "reason", "file_name", "n_captions"],
        folder=dg.MetadataValue.path(info["folder"]),
        zip=dg.MetadataValue.path(info["zip"]),
        zip_bytes=info["zip_bytes"],
        n_exported=info["n_records"],
        n_excluded=len(excluded),
        files=len(info["files"]),
        near_duplicate_pairs=info["n_pairs"],
        balance=preview(info["balance"], rows=30),
        load_with=dg.MetadataValue.md(
            f'```python\nfrom datasets import load_dataset\nload_dataset("imagefolder", '
            f'data_dir="{info["folder"]}/images")\n```'
        ),
    )


def dataset_export(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    prompts: pd.DataFrame,
    synthetic_images: pd.DataFrame,
    synthetic_comments: pd.DataFrame,
    mllm_captions: pd.DataFrame,
    image_quality: pd.DataFrame,
    near_duplicates: pd.DataFrame,
    image_provenance: pd.DataFrame,
) -> dg.Output:
    """The shareable dataset of this scenario, under <data_dir>/share/dataset/<scenario>/ and beside it
    as a zip: the images (split train = the baseline's training batch, test = the rest), dataset.parquet
    (prompts, specs, reference labels, every model's captions, comments, quality, provenance from the
    provenance stage's `image_provenance`), a Hugging Face imagefolder layout, Croissant metadata and a
    datasheet. One row per image row of the pipeline: included, or why not (failed images, landing
    images)."""
    tables = Tables(
        prompts,
        synthetic_images,
        synthetic_comments,
        mllm_captions,
        image_quality,
        near_duplicates,
        image_provenance,
    )
    note = (
        "the provenance stage's `image_provenance` table, columns `provenance` and `provenance_*` (the C2PA "
        "manifest's validation state and claim, the IPTC digital source type in XMP)."
    )
    return _export(context, workbench, tables, note)


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    versioned = {"code_version": code_version(dataset=DATASET_VERSION)}
    per_batch = {"partitions_def": BATCH_PARTITIONS, **versioned}
    every = dg.AssetIn(**EVERY_BATCH)
    export_ins = dict.fromkeys(
        (
            "prompts",
            "synthetic_images",
            "synthetic_comments",
            "mllm_captions",
            "image_quality",
            "image_provenance",
        ),
        every,
    )
    assets = [
        stage_asset(
            STAGE,
            **per_batch,
            kinds={"pillow", "parquet"},
            check_specs=[
                _spec("no_near_duplicates_in_batch", "image_quality", "Warns on near-duplicates in a batch.")
            ],
        )(image_quality),
        stage_asset(
            STAGE,
            **versioned,
            kinds={"numpy", "parquet"},
            ins={"image_quality": every, "prompts": every},
            check_specs=[_spec("no_near_duplicates", "near_duplicates", "Warns on any near-duplicate pair.")],
        )(near_duplicates),
        stage_asset(
            STAGE,
            **per_batch,
            kinds={"scipy", "parquet"},
            check_specs=[_spec("balanced", "dataset_balance", "Warns on an attribute off the scenario's target.")],
        )(dataset_balance),
        stage_asset(STAGE, **versioned, kinds={"huggingface", "parquet"}, ins=export_ins)(dataset_export),
    ]
    return stage_definitions(config, STAGE, assets)


def _spec(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, blocking=False, description=description)
