"""The audit stage: where and why a model sees differently (slices, counterfactual pairs)."""

import dagster as dg
import pandas as pd

from assets._shared.metadata import figure_png, png_markdown, table_output
from assets._shared.partitions import model_and_batch, model_batch_partitions
from assets._shared.stage import stage_asset, stage_definitions
from resources.workbench import WorkbenchResource
from workbench_dagster.scenario.config import WorkbenchConfig

STAGE = "audit"


def counterfactual_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    prompts: pd.DataFrame,
    mllm_captions: pd.DataFrame,
    embeddings: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Per attribute of a counterfactual batch: how often the model's labels flip when only that attribute
    changed and the reference did not, how its recall moves, and how far its caption's meaning shifts,
    each with a bootstrap 95% interval over pairs. Other batches have no pairs and give no rows."""
    from workbench_dagster.evaluation.counterfactual import (
        DEFAULT_MIN_PAIRS,
        SCORE_COLUMNS,
        flip_rate_chart,
    )
    from workbench_dagster.evaluation.counterfactual import counterfactual_scores as scores_of

    cfg = workbench.config
    model, batch = model_and_batch(context)
    if not cfg.is_counterfactual_batch(batch):
        return table_output(pd.DataFrame(columns=SCORE_COLUMNS), note="not a counterfactual batch: no pairs")
    min_pairs = cfg.batch(batch).min_pairs or DEFAULT_MIN_PAIRS
    df = scores_of(model, batch, prompts, mllm_captions, embeddings, min_pairs=min_pairs, seed=cfg.seed)
    chart = flip_rate_chart(df, f"{model} on {batch}: label flips per changed attribute")
    rated = df[df["flip_rate"].notna()].sort_values("flip_rate", ascending=False)
    extra = {"n_pairs": int(df["n_pairs"].sum()), "min_pairs": min_pairs}
    if len(rated):
        top = rated.iloc[0]
        extra["largest_flip_rate"] = dg.MetadataValue.text(
            f"{top['attribute']}: {top['flip_rate']:.2f} [{top['flip_rate_ci_low']:.2f}, {top['flip_rate_ci_high']:.2f}]"
        )
    return table_output(
        df,
        [
            "attribute",
            "n_pairs",
            "flip_rate",
            "flip_rate_ci_low",
            "flip_rate_ci_high",
            "recall_difference",
            "note",
        ],
        {"flip_rate_chart": png_markdown(figure_png(chart), "label flip rate per attribute")},
        **extra,
    )


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    per_model_batch = {"partitions_def": model_batch_partitions(config)}
    assets = [
        stage_asset(STAGE, **per_model_batch, kinds={"numpy", "parquet"})(counterfactual_scores),
    ]
    return stage_definitions(config, STAGE, assets)
