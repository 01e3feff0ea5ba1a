"""The evaluation stage: scores per model x batch, their intervals, model-vs-model differences, agreement
and drift."""

import dagster as dg
import pandas as pd

from assets._shared.metadata import figure_png, inline_png_markdown, png_markdown, preview, table_output
from assets._shared.partitions import (
    ALL_MODELS_OF_BATCH,
    BATCH_PARTITIONS,
    model_and_batch,
    model_batch_partitions,
    model_partitions,
)
from assets._shared.stage import stage_asset, stage_definitions
from resources.workbench import WorkbenchResource
from workbench_dagster.evaluation.drift import drift_from_profile, reference_profile
from workbench_dagster.evaluation.label_confusion import (
    THUMBNAIL_CAPTION,
    label_confusion_heatmap,
    label_confusion_matrix,
    label_confusion_thumbnail,
    most_confused,
)
from workbench_dagster.evaluation.scores import (
    EVAL_COLUMNS,
    Partition,
    confusion_heatmap,
    human_agreement,
    model_agreement,
    score_partition,
)
from workbench_dagster.evaluation.scores import image_scores as image_scores_of
from workbench_dagster.evaluation.scores import metric_intervals as metric_intervals_of
from workbench_dagster.evaluation.scores import model_comparisons as model_comparisons_of
from workbench_dagster.evaluation.scores import per_label_scores as per_label_scores_of
from workbench_dagster.scenario.config import WorkbenchConfig

STAGE = "evaluation"
HEADLINE_METADATA = (
    "f1_micro",
    "f1_micro_ci_low",
    "f1_micro_ci_high",
    "f1_macro",
    "hamming_loss",
    "caption_cosine",
)


def _scored_partition(context, workbench: WorkbenchResource) -> Partition:
    """What every model x batch score starts from: the model, the batch, the taxonomy, and whether the
    batch is the baseline's own training batch (flagged, and left out of the leaderboard)."""
    model, batch = model_and_batch(context)
    cfg = workbench.config
    return Partition(model, batch, cfg.scenario_data.label_ids, cfg.is_training_batch(batch))


def eval_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    prompts: pd.DataFrame,
    embeddings: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Accuracy, micro and macro precision, recall and F1, Hamming loss and caption-to-reference cosine,
    each headline metric with a seeded bootstrap 95% interval over the batch's images: a score on a few
    dozen images is a range, not a point.

    Rows for the baseline's own training batch are flagged `is_training_batch` and left out of
    the leaderboard, so the baseline is judged only on batches it never saw.
    """
    row = score_partition(
        _scored_partition(context, workbench), mllm_captions, prompts, embeddings, seed=workbench.config.seed
    )
    df = pd.DataFrame([row], columns=EVAL_COLUMNS)
    headline = {k: dg.MetadataValue.float(float(row[k])) for k in HEADLINE_METADATA if row[k] is not None}
    return table_output(df, **headline)


def image_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    prompts: pd.DataFrame,
    embeddings: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """One row per scored image. Intervals pooled over batches and paired model comparisons resample
    images, so they need the per-image outcomes, not the per-batch averages."""
    df = image_scores_of(_scored_partition(context, workbench), mllm_captions, prompts, embeddings)
    return table_output(df, ["image_id", "labels", "jaccard", "caption_cosine"])


def per_label_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    prompts: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Confusion counts, precision, recall and F1 for every taxonomy label: a good micro F1 can hide a
    label the model never gets right. The heatmaps show which, and what the model says instead: the
    label-by-label one (reference x predicted) leads the metadata as a thumbnail the UI shows without a
    click (thumbnails.py), then in full."""
    partition = _scored_partition(context, workbench)
    df = per_label_scores_of(partition, mllm_captions, prompts)
    pictures, extra = {}, {}
    if len(df) and int(df["support"].sum() + df["fp"].sum()):
        name = f"{partition.model} on {partition.batch}"
        counts, n_reference = label_confusion_matrix(mllm_captions, prompts, partition.labels)
        pictures["thumbnail_label_confusion"] = inline_png_markdown(  # shown without a click
            label_confusion_thumbnail(counts, n_reference, "label confusion", 990 - len(THUMBNAIL_CAPTION)),
            "label confusion",
            "label_confusion_heatmap",
            THUMBNAIL_CAPTION,
        )
        pictures["label_confusion_heatmap"] = png_markdown(
            figure_png(label_confusion_heatmap(counts, n_reference, f"{name}: reference x predicted label")),
            "label-by-label confusion heatmap",
        )
        pictures["confusion_heatmap"] = png_markdown(
            figure_png(confusion_heatmap(df, f"{name}: per-label confusion")), "per-label confusion heatmap"
        )
        worst = df[df["support"] > 0].sort_values("f1")
        if len(worst):
            extra["weakest_label"] = dg.MetadataValue.text(
                f"{worst.iloc[0]['label']} (F1 {worst.iloc[0]['f1']:.2f})"
            )
        confused = most_confused(counts)
        if confused:
            extra["most_confused"] = dg.MetadataValue.text("; ".join(f"{r} -> {p}: {n}" for r, p, n in confused))
    return table_output(df, ["label", "support", "tp", "fp", "fn", "f1"], pictures, **extra)


def _probes(cfg: WorkbenchConfig) -> frozenset[str]:
    """Counterfactual batches: audited in their own asset, never pooled into the leaderboard's images."""
    return frozenset(b for b in cfg.batch_ids if cfg.is_counterfactual_batch(b))


def metric_intervals(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, image_scores: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """Every headline metric of a model pooled over its held-out batches, with a bootstrap 95% interval
    over images: the leaderboard's estimate and its `ci_low`/`ci_high`."""
    cfg = workbench.config
    df = metric_intervals_of(
        context.partition_key, image_scores, cfg.scenario_data.label_ids, seed=cfg.seed, excluded=_probes(cfg)
    )
    f1 = df[df["metric"] == "f1_micro"].iloc[0]
    extra = {k: dg.MetadataValue.float(float(f1[k])) for k in ("estimate", "ci_low", "ci_high") if pd.notna(f1[k])}
    return table_output(
        df,
        ["metric", "n_images", "estimate", "ci_low", "ci_high"],
        **{f"f1_micro_{k}": v for k, v in extra.items()},
    )


def model_comparisons(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, image_scores: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """This model minus every other, paired on the same held-out images and the same resamples, so the
    leaderboard can say whether A really beats B (`better` / `worse` / `no clear difference`)."""
    cfg = workbench.config
    df = model_comparisons_of(
        context.partition_key, image_scores, cfg.scenario_data.label_ids, seed=cfg.seed, excluded=_probes(cfg)
    )
    shown = df[df["metric"] == "f1_micro"]
    return table_output(
        df,
        f1_micro_comparisons=preview(
            shown, rows=20, columns=["other_model", "difference", "ci_low", "ci_high", "verdict"]
        ),
    )


def agreement(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    human_reviews: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Fleiss' kappa and Krippendorff's alpha per label on one batch: across the models (where they
    disagree, the labels are hard or the taxonomy is ambiguous, and a person should look), across the
    human reviewers, and between each model and the reviewers' majority."""
    labels = workbench.config.scenario_data.label_ids
    df = pd.concat(
        [
            model_agreement(context.partition_key, mllm_captions, labels),
            human_agreement(context.partition_key, mllm_captions, human_reviews, labels),
        ],
        ignore_index=True,
    )
    overall = df[df["label"] == "(all labels)"]
    extra = {}
    if len(overall) and pd.notna(overall.iloc[0]["krippendorff_alpha"]):
        extra["models_alpha_all_labels"] = dg.MetadataValue.float(float(overall.iloc[0]["krippendorff_alpha"]))
    return table_output(
        df,
        ["comparison", "label", "n_items", "percent_agreement", "fleiss_kappa", "krippendorff_alpha"],
        **extra,
    )


def drift_reference(
    workbench: WorkbenchResource, prompts: pd.DataFrame, mllm_captions: pd.DataFrame, embeddings: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """The training batch's label distributions and mean caption vector per model: what every batch's
    drift is measured from. Its own asset so that a batch's drift reads that batch and this, and a new
    batch leaves every other batch's drift alone."""
    cfg = workbench.config
    df = reference_profile(
        cfg.baseline.train_batch, prompts, mllm_captions, embeddings, cfg.scenario_data.label_ids
    )
    return table_output(df, ["reference_batch", "model", "kind", "n"])


def drift(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    drift_reference: pd.DataFrame,
    prompts: pd.DataFrame,
    mllm_captions: pd.DataFrame,
    embeddings: pd.DataFrame,
):
    """How far this batch's labels (Jensen-Shannon distance) and caption embeddings (mean-embedding
    cosine distance) moved from the training batch: past a threshold, scores measured on earlier
    batches no longer vouch for this one. The `no_drift` check warns; it does not stop anything."""
    cfg = workbench.config
    df = drift_from_profile(
        context.partition_key, drift_reference, prompts, mllm_captions, embeddings, cfg.scenario_data.label_ids
    )
    drifted = df[df["drifted"].astype(bool)] if len(df) else df
    yield table_output(df, ["model", "kind", "value", "threshold", "drifted"], drifted_rows=len(drifted))
    yield dg.AssetCheckResult(
        check_name="no_drift",
        passed=drifted.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "drifted": dg.MetadataValue.md(drifted.to_markdown(index=False) if len(drifted) else "_none_"),
            "rows": len(df),
        },
    )


NO_DRIFT = dg.AssetCheckSpec(
    "no_drift", asset="drift", blocking=False, description="Warns when a batch drifted from the training batch."
)


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    per_model_batch = {"partitions_def": model_batch_partitions(config)}
    per_model = {
        "partitions_def": model_partitions(config),
        "ins": {"image_scores": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
    }
    train = config.baseline.train_batch
    of_training_batch = {
        "prompts": dg.AssetIn(partition_mapping=dg.SpecificPartitionsPartitionMapping([train])),
        **dict.fromkeys(
            ("mllm_captions", "embeddings"),
            dg.AssetIn(
                partition_mapping=dg.SpecificPartitionsPartitionMapping(
                    [str(dg.MultiPartitionKey({"batch": train, "model": m})) for m in config.model_ids]
                )
            ),
        ),
    }
    all_models = dg.AssetIn(partition_mapping=ALL_MODELS_OF_BATCH)
    assets = [
        stage_asset(STAGE, **per_model_batch, kinds={"scikitlearn", "parquet"})(eval_scores),
        stage_asset(STAGE, **per_model_batch, kinds={"numpy", "parquet"})(image_scores),
        stage_asset(STAGE, **per_model_batch, kinds={"scikitlearn", "parquet"})(per_label_scores),
        stage_asset(STAGE, **per_model, kinds={"numpy", "parquet"})(metric_intervals),
        stage_asset(STAGE, **per_model, kinds={"numpy", "parquet"})(model_comparisons),
        stage_asset(
            STAGE,
            partitions_def=BATCH_PARTITIONS,
            kinds={"krippendorff", "parquet"},
            ins={"mllm_captions": all_models},
        )(agreement),
        stage_asset(STAGE, kinds={"scipy", "parquet"}, ins=of_training_batch)(drift_reference),
        stage_asset(
            STAGE,
            partitions_def=BATCH_PARTITIONS,
            kinds={"scipy", "parquet"},
            ins={"mllm_captions": all_models, "embeddings": all_models},
            check_specs=[NO_DRIFT],
        )(drift),
    ]
    return stage_definitions(config, STAGE, assets)
