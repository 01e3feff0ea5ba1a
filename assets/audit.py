"""The audit stage (issue 15): where and why a model sees differently.

Slices of the images by every spec attribute, per model x batch and pooled over the model's held-out
batches; the model's labels under reworded prompts. Each asset is a function below and one line in
`definitions`; an audit of another kind (counterfactual pairs) adds its function and its line.
"""

import dagster as dg
import pandas as pd

from assets._shared.metadata import figure_png, png_markdown, preview, table_output
from assets._shared.partitions import (
    ALL_BATCHES_OF_MODEL,
    model_and_batch,
    model_batch_partitions,
    model_partitions,
)
from assets._shared.rules import backend_failures, code_version
from assets._shared.stage import stage_asset, stage_definitions
from assets.captioning import _flagged, _image_inputs
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.captioning.baseline_recipe import RECIPE_VERSION
from workbench_dagster.captioning.parsing import PROMPT_VERSION
from workbench_dagster.evaluation.prompt_sensitivity import VARIANT_COLUMNS, sensitivity_table, tagged
from workbench_dagster.evaluation.prompt_variants import caption_variants
from workbench_dagster.evaluation.slice_attributes import attribute_frame, specs_of
from workbench_dagster.evaluation.slice_figures import gap_chart, gap_title, variant_chart
from workbench_dagster.evaluation.slices import SliceScope, SliceSettings, held_out
from workbench_dagster.evaluation.slices import slice_scores as slice_scores_of
from workbench_dagster.scenario.config import DEFAULT_VARIANT, WorkbenchConfig

STAGE = "audit"
SLICE_PREVIEW = ["attribute", "value", "n_images", "f1_micro", "f1_micro_ci_low", "f1_micro_ci_high", "gap_role"]


def _slices(workbench: WorkbenchResource, scope: SliceScope, image_scores: pd.DataFrame, prompts: pd.DataFrame):
    cfg = workbench.config
    attributes, duplicates = attribute_frame(
        specs_of(prompts), cfg.scenario_data.demographics, cfg.audit.attributes
    )
    df = slice_scores_of(
        scope, image_scores, attributes, cfg.scenario_data.label_ids, SliceSettings.of(cfg.audit, cfg.seed)
    )
    return df, duplicates


GAP_CHARTS = 6


def _slice_output(df: pd.DataFrame, duplicates: dict[str, str], name: str) -> dg.Output:
    """The table with a gap chart for each of the GAP_CHARTS attributes whose gap is least likely chance
    (the rest are in the table and the `gaps` preview: a chart costs a quarter second to draw, and
    a dozen of them per partition was most of the stage's time), the significant gaps first in words."""
    gaps = df[df["gap_role"].notna()].drop_duplicates("attribute").sort_values("gap_p_adjusted", kind="stable")
    pictures = {}
    for attribute in gaps["attribute"].head(GAP_CHARTS):
        rows = df[df["attribute"] == attribute]
        chart = gap_chart(rows, f"{name}: {gap_title(rows)}")
        pictures[f"gap_{attribute}"] = png_markdown(figure_png(chart), f"{attribute} slice gap chart")
    significant = gaps[gaps["gap_significant"].fillna(False).astype(bool)]
    return table_output(
        df,
        SLICE_PREVIEW,
        pictures,
        significant_gaps=dg.MetadataValue.md(
            "\n".join(f"- {gap_title(df[df['attribute'] == a])}" for a in significant["attribute"]) or "_none_"
        ),
        gaps=preview(gaps, rows=30, columns=["attribute", "attribute_gap", "gap_p_value", "gap_p_adjusted"]),
        attributes_tested=int(df["n_attributes_tested"].max()) if len(df) else 0,
        same_slices_as=dg.MetadataValue.json(duplicates),
    )


def slice_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    image_scores: pd.DataFrame,
    prompts: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Per value of every spec attribute (scene type, setting, time of day, crowd size, text language,
    ...): n, micro and macro F1, Hamming loss, caption cosine and per-label recall, each with a seeded
    bootstrap 95% interval; fewer than `audit.min_slice_images` images: the count and no rate. Per
    attribute, the largest F1 gap between its values with a permutation p-value, Holm-adjusted across
    the attributes (evaluation/slices.py). On one batch: `held_out_slice_scores` pools the batches."""
    model, batch = model_and_batch(context)
    cfg = workbench.config
    scope = SliceScope(model, "batch", batch, cfg.is_training_batch(batch), 1)
    df, duplicates = _slices(workbench, scope, image_scores, prompts)
    return _slice_output(df, duplicates, f"{model} on {batch}")


def held_out_slice_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    image_scores: pd.DataFrame,
    prompts: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """`slice_scores` pooled over the model's held-out batches (never its training batch, nor a
    counterfactual batch, whose images repeat held-out specs): the slices a batch alone is too small for."""
    cfg = workbench.config
    model = context.partition_key
    counterfactual = {b for b in cfg.batch_ids if cfg.is_counterfactual_batch(b)}
    mine = held_out(
        image_scores[image_scores["model"] == model] if len(image_scores) else image_scores, counterfactual
    )
    scope = SliceScope(model, "held_out", None, False, int(mine["batch"].nunique()) if len(mine) else 0)
    df, duplicates = _slices(workbench, scope, mine, prompts)
    return _slice_output(df, duplicates, f"{model}, held-out batches")


def _skip_reason(cfg: WorkbenchConfig, model_id: str, batch: str) -> str | None:
    if not cfg.model(model_id).prompt_variants:
        return "the model lists no prompt_variants"
    if cfg.is_training_batch(batch):
        return "the training batch is not scored for prompt sensitivity"
    if cfg.is_counterfactual_batch(batch):
        return "a counterfactual batch repeats held-out specs"
    return None


def prompt_variant_captions(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    gpu: GpuResource,
    synthetic_images: pd.DataFrame,
    baseline_models: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """The model's captions under each of its `prompt_variants` (the baseline: each threshold), through
    the caption loop and call cache `mllm_captions` uses; its own prompt is `mllm_captions` itself.
    Empty for a model without variants, and on the training and counterfactual batches."""
    model_id, batch = model_and_batch(context)
    cfg = workbench.config
    skip = _skip_reason(cfg, model_id, batch)
    if skip:
        return table_output(pd.DataFrame(columns=VARIANT_COLUMNS), skipped=skip)
    model = cfg.model(model_id)
    device, dtype = gpu.pick()
    backend = baseline = None
    if model.backend == "baseline":
        from workbench_dagster.captioning.baseline import BaselineModel

        baseline = BaselineModel.load(baseline_models.set_index("model").loc[model_id, "checkpoint"], device)
    else:
        from workbench_dagster.backends import make_backend

        with backend_failures():
            backend = make_backend(model, device=device, dtype=dtype)
    rows, called = caption_variants(
        model,
        _image_inputs(workbench, synthetic_images),
        cfg.scenario_data,
        cache=workbench.call_cache,
        backend=backend,
        baseline=baseline,
        is_training_batch=cfg.is_training_batch(batch),
    )
    df = _flagged(workbench, rows).assign(
        **{k: [r[k] for r in rows] for k in ("prompt_variant", "varied", "variant_language")}
    )[VARIANT_COLUMNS]
    return table_output(
        df,
        ["prompt_variant", "image_id", "labels", "parse_status"],
        images_called=dg.MetadataValue.json(called),
        parse_status=dg.MetadataValue.json(
            df.groupby("prompt_variant")["parse_status"].value_counts().unstack(fill_value=0).to_dict("index")
        ),
    )


def prompt_sensitivity(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    prompt_variant_captions: pd.DataFrame,
    prompts: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Per model, over its held-out batches: each prompt variant's micro F1, Krippendorff's alpha with the
    variants as raters, and the spread and mean of F1 across variants, each with a paired bootstrap 95%
    interval (evaluation/prompt_sensitivity.py). `varied` says whether the wording or, for the
    baseline, which reads no prompt, the threshold was varied. A model without variants has one row."""
    cfg = workbench.config
    model = cfg.model(context.partition_key)
    counterfactual = {b for b in cfg.batch_ids if cfg.is_counterfactual_batch(b)}
    own = held_out(mllm_captions, counterfactual)
    captions = pd.concat(
        [tagged(own, DEFAULT_VARIANT, model, None), held_out(prompt_variant_captions, counterfactual)],
        ignore_index=True,
    )
    df = sensitivity_table(
        model, captions, prompts, cfg.scenario_data.label_ids, cfg.seed, cfg.audit.n_boot, cfg.baseline.threshold
    )
    first = df.iloc[0]
    figures = {
        k: float(first[k]) for k in ("krippendorff_alpha", "f1_spread", "f1_variant_mean") if pd.notna(first[k])
    }
    chart = png_markdown(figure_png(variant_chart(df, f"{model.id}: F1 per prompt variant")), "F1 per variant")
    return table_output(
        df,
        ["prompt_variant", "varied", "n_images", "f1_micro", "f1_micro_ci_low", "f1_micro_ci_high"],
        {"variant_f1": chart},
        **figures,
        best_variant=str(first["best_variant"]),
    )


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
    every_batch = dg.AssetIn(partition_mapping=dg.AllPartitionMapping())
    all_batches = dg.AssetIn(partition_mapping=ALL_BATCHES_OF_MODEL)
    per_model = {"partitions_def": model_partitions(config)}
    assets = [
        stage_asset(STAGE, **per_model_batch, kinds={"numpy", "parquet"})(slice_scores),
        stage_asset(
            STAGE,
            **per_model,
            kinds={"numpy", "parquet"},
            ins={"image_scores": all_batches, "prompts": every_batch},
        )(held_out_slice_scores),
        stage_asset(
            STAGE,
            **per_model_batch,
            kinds={"pytorch", "parquet"},
            pool="gpu",
            code_version=code_version(baseline_recipe=RECIPE_VERSION, caption_prompt=PROMPT_VERSION),
        )(prompt_variant_captions),
        stage_asset(
            STAGE,
            **per_model,
            kinds={"krippendorff", "parquet"},
            ins={"mllm_captions": all_batches, "prompt_variant_captions": all_batches, "prompts": every_batch},
        )(prompt_sensitivity),
        stage_asset(STAGE, **per_model_batch, kinds={"numpy", "parquet"})(counterfactual_scores),
    ]
    return stage_definitions(config, STAGE, assets)
