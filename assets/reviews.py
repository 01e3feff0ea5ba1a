"""The reviews stage: the review queue out, reviewed labels in, models scored against people, and the
baseline retrained on their corrections."""

import dagster as dg
import pandas as pd

from assets._shared.metadata import preview, table_output
from assets._shared.partitions import ALL_MODELS_OF_BATCH, BATCH_PARTITIONS, model_partitions
from assets._shared.rules import code_version
from assets._shared.stage import stage_asset, stage_definitions
from resources.gpu import GpuResource
from resources.workbench import WorkbenchResource
from workbench_dagster.captioning.baseline_recipe import RECIPE_VERSION
from workbench_dagster.evaluation.scores import human_eval_scores as human_eval_scores_of
from workbench_dagster.reviews.inbox import REVIEW_COLUMNS, ingest_inbox
from workbench_dagster.reviews.queue import select_for_review, write_queue
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.scenario.fingerprint import REVIEWS_INBOX

STAGE = "reviews"


def reviews_dir(config: WorkbenchConfig):
    return config.data_dir / "reviews"


def review_queue(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    synthetic_images: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """A person's time is the scarce resource: the images where the models disagree most or the
    baseline is least sure go first, a fixed number per batch. Exported as Label Studio tasks with
    the labeling config for the taxonomy, and as a CSV sheet, under data/reviews/queue/<batch>/."""
    cfg = workbench.config
    labels = cfg.scenario_data.label_ids
    queue = select_for_review(mllm_captions, synthetic_images, labels)
    names = {label: cfg.scenario_data.label_name(label) for label in labels}
    paths = write_queue(reviews_dir(cfg) / "queue", context.partition_key, queue, labels, names)
    return table_output(
        queue,
        ["rank", "image_id", "priority", "disagreement", "baseline_uncertainty"],
        **{name.replace(".", "_"): dg.MetadataValue.path(str(path)) for name, path in paths.items()},
    )


def review_inbox(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, synthetic_images: pd.DataFrame
) -> dg.Output[pd.DataFrame]:
    """Every accepted review in data/reviews/inbox/ (Label Studio JSON exports or filled CSV sheets),
    checked against the images of every batch. A file is taken whole or not at all: a bad row rejects
    it, with <file>.rejected.txt naming every bad row, so no half-read file ever skews a score. Its
    own asset so that each batch's `human_reviews` reads this and changes only when its rows do."""
    cfg = workbench.config
    known = dict(zip(synthetic_images["image_id"], synthetic_images["batch"])) if len(synthetic_images) else {}
    reviews, outcomes = ingest_inbox(reviews_dir(cfg) / "inbox", known, cfg.scenario_data.label_ids)
    rejected = {o.path.name: o.errors for o in outcomes if not o.accepted}
    for name, errors in rejected.items():
        context.log.warning(
            f"review file {name} rejected whole ({len(errors)} problem(s)); see {name}.rejected.txt"
        )
    report = pd.DataFrame(
        [
            {
                "file": o.path.name,
                "accepted": o.accepted,
                "reviews": len(o.reviews),
                "problems": len(o.errors),
                "first_problem": o.errors[0] if o.errors else "",
            }
            for o in outcomes
        ]
    )
    return table_output(
        reviews,
        ["batch", "image_id", "reviewer", "labels", "relevance"],
        files=preview(report, rows=50),
        accepted_files=sum(o.accepted for o in outcomes),
        rejected_files=len(rejected),
        rejections=dg.MetadataValue.json({name: errors[:50] for name, errors in rejected.items()}),
    )


def human_reviews(context: dg.AssetExecutionContext, review_inbox: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """This batch's rows of the review inbox: what agreement and the human scores of the batch read."""
    mine = (
        review_inbox[review_inbox["batch"] == context.partition_key].reset_index(drop=True)
        if len(review_inbox)
        else review_inbox
    )
    if not len(mine):
        mine = pd.DataFrame(columns=REVIEW_COLUMNS)
    return table_output(
        mine,
        ["image_id", "reviewer", "labels", "relevance", "flags"],
        reviewers=mine["reviewer"].nunique() if len(mine) else 0,
    )


def human_eval_scores(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    mllm_captions: pd.DataFrame,
    prompts: pd.DataFrame,
    human_reviews: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Every model scored against the reviewers' majority labels, next to its score against the
    construction reference on the same images: people are the check on the reference itself."""
    cfg = workbench.config
    df = human_eval_scores_of(
        context.partition_key, mllm_captions, prompts, human_reviews, cfg.scenario_data.label_ids, seed=cfg.seed
    )
    return table_output(df, ["model", "n_scored", "f1_micro", "f1_micro_vs_reference"])


def baseline_versions(
    context: dg.AssetExecutionContext,
    workbench: WorkbenchResource,
    gpu: GpuResource,
    baseline_models: pd.DataFrame,
    prompts: pd.DataFrame,
    synthetic_images: pd.DataFrame,
    human_reviews: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    """Human corrections retrain the baseline into a new checkpoint version (fingerprinted like the
    first, so the same corrections never train twice), and both versions are scored side by side on
    held-out images neither saw, with a paired interval on the difference: did the corrections help?"""
    from workbench_dagster.reviews.corrections import VERSION_COLUMNS, compare_versions, held_out_for_versions
    from workbench_dagster.storage.media import decode_image

    cfg = workbench.config
    model_id = context.partition_key
    registry = baseline_models.set_index("model") if len(baseline_models) else baseline_models
    if cfg.model(model_id).backend != "baseline" or model_id not in registry.index:
        df = pd.DataFrame(columns=VERSION_COLUMNS)
        return table_output(df, note="not a baseline model: nothing to retrain")
    device, _ = gpu.pick()
    # counterfactual images are probes: a review of one never becomes training data, nor an eval image
    probes = {b for b in cfg.batch_ids if cfg.is_counterfactual_batch(b)}
    prompts, synthetic_images, human_reviews = (
        df[~df["batch"].isin(probes)] if len(df) else df for df in (prompts, synthetic_images, human_reviews)
    )
    versions, corrected = _checkpoint_versions(
        workbench, model_id, registry.loc[model_id], prompts, synthetic_images, human_reviews, device
    )
    held = held_out_for_versions(prompts, synthetic_images, set(corrected["image_id"]))
    store = workbench.image_store
    df = compare_versions(
        model_id,
        versions,
        [decode_image(store.get(uri)) for uri in held["uri"]],
        [list(x) for x in held["reference_labels"]],
        cfg.scenario_data.label_ids,
        cfg.baseline.threshold,
        device,
        cfg.seed,
    )
    return table_output(
        df, ["version", "n_train", "n_corrections", "n_eval", "f1_micro", "difference_vs_v1", "verdict_vs_v1"]
    )


def _checkpoint_versions(workbench, model_id, v1, prompts, synthetic_images, human_reviews, device):
    """Version 1 is the registered checkpoint; version 2 exists only when reviewers corrected a label
    of the training batch. Returns the versions and the (corrected) training set."""
    from workbench_dagster.captioning.baseline_registry import training_set
    from workbench_dagster.reviews.corrections import corrected_training_set, ensure_corrected_checkpoint
    from workbench_dagster.reviews.inbox import human_majority

    cfg = workbench.config
    train_batch = cfg.baseline.train_batch
    train = training_set(
        prompts[prompts["batch"] == train_batch], synthetic_images[synthetic_images["batch"] == train_batch]
    )
    majority = (
        human_majority(human_reviews, cfg.scenario_data.label_ids)
        if len(human_reviews)
        else pd.DataFrame(columns=["image_id", "labels"])
    )
    corrected, n_corrections = corrected_training_set(train, synthetic_images, majority)
    versions = [
        {
            "version": 1,
            "fingerprint": v1["fingerprint"],
            "checkpoint": v1["checkpoint"],
            "n_train": int(v1["n_train"]),
            "n_corrections": 0,
            "trained": False,
        }
    ]
    if n_corrections:
        fingerprint, checkpoint, trained = ensure_corrected_checkpoint(
            cfg, cfg.model(model_id), corrected, workbench.image_store, device
        )
        versions.append(
            {
                "version": 2,
                "fingerprint": fingerprint,
                "checkpoint": checkpoint,
                "n_train": len(corrected),
                "n_corrections": n_corrections,
                "trained": trained,
            }
        )
    return versions, corrected


def definitions(config: WorkbenchConfig) -> dg.Definitions:
    per_batch = {"partitions_def": BATCH_PARTITIONS}
    all_models = dg.AssetIn(partition_mapping=ALL_MODELS_OF_BATCH)
    every_batch = dg.AssetIn(
        partition_mapping=dg.AllPartitionMapping(), metadata={"allow_missing_partitions": True}
    )
    assets = [
        stage_asset(STAGE, **per_batch, kinds={"labelstudio", "parquet"}, ins={"mllm_captions": all_models})(
            review_queue
        ),
        stage_asset(
            STAGE,
            kinds={"labelstudio", "parquet"},
            ins={"synthetic_images": every_batch},
            sources=(REVIEWS_INBOX,),
        )(review_inbox),
        stage_asset(STAGE, **per_batch, kinds={"labelstudio", "parquet"})(human_reviews),
        stage_asset(STAGE, **per_batch, kinds={"scikitlearn", "parquet"}, ins={"mllm_captions": all_models})(
            human_eval_scores
        ),
        stage_asset(
            STAGE,
            partitions_def=model_partitions(config),
            kinds={"pytorch", "parquet"},
            pool="gpu",
            code_version=code_version(baseline_recipe=RECIPE_VERSION),
            ins={"prompts": every_batch, "synthetic_images": every_batch, "human_reviews": every_batch},
        )(baseline_versions),
    ]
    return stage_definitions(config, STAGE, assets)
