"""Scores of one model on one batch, against the references known by construction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.bootstrap import (
    N_BOOT,
    binarized,
    bootstrap_intervals,
    derived_seed,
    paired_bootstrap,
)
from workbench_dagster.evaluation.metric_registry import (
    HEADLINE,
    NAMES,
    RESAMPLED,
    interval_columns,
    point_estimates,
)
from workbench_dagster.evaluation.metrics import multilabel_scores, per_label_table
from workbench_dagster.evaluation.per_image import (
    caption_bertscores,
    caption_cosines,
    image_outcomes,
    label_lists,
    outcomes_of,
    scored_captions,
)

CI_METRICS = HEADLINE
EVAL_COLUMNS = [
    "model",
    "batch",
    "is_training_batch",
    "n_images",
    "n_scored",
    "n_failed",
    *NAMES,
    *[column for m in CI_METRICS for column in interval_columns(m)],
]
IMAGE_SCORE_COLUMNS = [
    "model",
    "batch",
    "image_id",
    "is_training_batch",
    "reference_labels",
    "labels",
    "exact_match",
    "jaccard",
    "hamming",
    "caption_cosine",
    "caption_bertscore",
]
PER_LABEL_COLUMNS = [
    "model",
    "batch",
    "is_training_batch",
    "label",
    "support",
    "tp",
    "fp",
    "fn",
    "tn",
    "precision",
    "recall",
    "f1",
]
INTERVAL_COLUMNS = ["model", "metric", "n_images", "n_batches", "estimate", "ci_low", "ci_high", "n_boot", "seed"]
COMPARISON_COLUMNS = [
    "model",
    "other_model",
    "metric",
    "n_images",
    "difference",
    "ci_low",
    "ci_high",
    "p_value",
    "verdict",
    "n_boot",
    "seed",
]


@dataclass(frozen=True)
class Partition:
    """One model x batch to score: the taxonomy it is scored on, and whether the batch is the
    baseline's own training batch (flagged, and left out of the leaderboard)."""

    model: str
    batch: str
    labels: list[str]
    is_training_batch: bool


def score_partition(
    partition: Partition,
    captions: pd.DataFrame,
    prompts: pd.DataFrame,
    embeddings: pd.DataFrame,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> dict:
    """A failed caption counts as a failure, not as an empty prediction; images without a reference are not scored.

    Each headline metric carries a bootstrap 95% interval over this partition's images.
    """
    model, batch, labels = partition.model, partition.batch, partition.labels
    ok, scored = scored_captions(captions, prompts)
    caption_scores = {
        "caption_cosine": caption_cosines(embeddings, list(scored["image_id"])),
        "caption_bertscore": caption_bertscores(scored),
    }
    outcomes = outcomes_of(scored["reference_labels"], scored["labels"], labels, caption_scores)
    intervals = bootstrap_intervals(outcomes, n_boot=n_boot, seed=derived_seed(seed, model, batch))
    estimates = point_estimates(outcomes)
    ci = {
        column: intervals[m][f"ci_{side}"]
        for m in CI_METRICS
        for column, side in zip(interval_columns(m), ("low", "high"))
    }
    return {
        "model": model,
        "batch": batch,
        "is_training_batch": partition.is_training_batch,
        "n_images": len(captions),
        "n_scored": len(scored),
        "n_failed": int(len(captions) - len(ok)),
        **estimates,
        **ci,
    }


def image_scores(
    partition: Partition, captions: pd.DataFrame, prompts: pd.DataFrame, embeddings: pd.DataFrame
) -> pd.DataFrame:
    """One row per scored image: what the pooled intervals, paired comparisons and agreement resample."""
    labels = partition.labels
    _, scored = scored_captions(captions, prompts)
    y_true, y_pred = label_lists(scored["reference_labels"]), label_lists(scored["labels"])
    t, p = binarized(y_true, y_pred, labels)
    union = (t | p).sum(axis=1)
    rows = pd.DataFrame(
        {
            "model": partition.model,
            "batch": partition.batch,
            "image_id": list(scored["image_id"]),
            "is_training_batch": partition.is_training_batch,
            "reference_labels": [sorted(x) for x in y_true],
            "labels": [sorted(x) for x in y_pred],
            "exact_match": (t == p).all(axis=1) if len(t) else np.zeros(0, dtype=bool),
            "jaccard": np.where(union == 0, 1.0, (t & p).sum(axis=1) / np.maximum(union, 1)).astype(float),
            "hamming": ((t ^ p).sum(axis=1) / max(len(labels), 1)).astype(float),
            "caption_cosine": caption_cosines(embeddings, list(scored["image_id"])),
            "caption_bertscore": caption_bertscores(scored),
        },
        columns=IMAGE_SCORE_COLUMNS,
    )
    return rows


def per_label_scores(partition: Partition, captions: pd.DataFrame, prompts: pd.DataFrame) -> pd.DataFrame:
    """The per-label confusion counts and scores; every taxonomy label has a row, support 0 included."""
    _, scored = scored_captions(captions, prompts)
    table = per_label_table(
        label_lists(scored["reference_labels"]), label_lists(scored["labels"]), partition.labels
    )
    df = pd.DataFrame(table)
    if df.empty:
        return pd.DataFrame(columns=PER_LABEL_COLUMNS)
    df.insert(0, "is_training_batch", partition.is_training_batch)
    df.insert(0, "batch", partition.batch)
    df.insert(0, "model", partition.model)
    return df[PER_LABEL_COLUMNS]


def _held_out(images: pd.DataFrame, excluded: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Batches the model did not train on, less `excluded` ones (counterfactual redraws of held-out
    scenes: they would count an image twice and weigh the probes' attributes)."""
    if images.empty:
        return images
    return images[~images["is_training_batch"].fillna(False).astype(bool) & ~images["batch"].isin(excluded)]


def metric_intervals(
    model: str,
    images: pd.DataFrame,
    labels: list[str],
    seed: int = 0,
    n_boot: int = N_BOOT,
    excluded: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Pooled over the model's held-out batches: one row per headline metric with its 95% interval."""
    mine = _held_out(images[images["model"] == model], excluded) if len(images) else images
    outcomes = image_outcomes(mine, labels) if len(mine) else outcomes_of([], [], labels, {})
    run_seed = derived_seed(seed, "intervals", model)
    intervals = bootstrap_intervals(outcomes, n_boot=n_boot, seed=run_seed)
    n_batches = int(mine["batch"].nunique()) if len(mine) else 0
    return pd.DataFrame(
        [
            {
                "model": model,
                "metric": m,
                "n_images": len(mine),
                "n_batches": n_batches,
                **intervals[m],
                "n_boot": n_boot,
                "seed": run_seed,
            }
            for m in RESAMPLED
        ],
        columns=INTERVAL_COLUMNS,
    )


def model_comparisons(
    model: str,
    images: pd.DataFrame,
    labels: list[str],
    seed: int = 0,
    n_boot: int = N_BOOT,
    excluded: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """This model against every other, paired on the held-out images both scored.

    The seed depends on the unordered pair, so A-vs-B and B-vs-A resample the same images and
    their intervals mirror each other exactly.
    """
    held = _held_out(images, excluded) if len(images) else images
    rows = []
    others = sorted(set(held["model"]) - {model}) if len(held) else []
    mine = held[held["model"] == model] if len(held) else held
    for other in others:
        theirs = held[held["model"] == other]
        pair = mine.merge(theirs, on=["batch", "image_id"], suffixes=("_a", "_b")).sort_values(
            ["batch", "image_id"]
        )
        pair_seed = derived_seed(seed, "paired", *sorted([model, other]))
        result = paired_bootstrap(
            image_outcomes(pair, labels, "_a"), image_outcomes(pair, labels, "_b"), n_boot=n_boot, seed=pair_seed
        )
        for m in RESAMPLED:
            verdict = {"A better": "better", "B better": "worse"}.get(result[m]["verdict"], result[m]["verdict"])
            rows.append(
                {
                    "model": model,
                    "other_model": other,
                    "metric": m,
                    "n_images": len(pair),
                    **result[m],
                    "verdict": verdict,
                    "n_boot": n_boot,
                    "seed": pair_seed,
                }
            )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def model_agreement(batch: str, captions: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Agreement between the models on one batch, per label; failed captions are missing ratings."""
    from workbench_dagster.evaluation.agreement import AGREEMENT_COLUMNS, label_agreement

    ok = captions[~captions["parse_status"].isin(["invalid", "error"])] if len(captions) else captions
    ratings = (
        pd.DataFrame({"image_id": ok["image_id"], "rater": ok["model"], "labels": ok["labels"]})
        if len(ok)
        else pd.DataFrame(columns=["image_id", "rater", "labels"])
    )
    return pd.DataFrame(label_agreement(ratings, labels, batch, "models"), columns=AGREEMENT_COLUMNS)


def confusion_heatmap(per_label: pd.DataFrame, title: str):
    """Labels down, confusion cells across, each row normalised by the label's images so rare and
    common labels read on the same colour scale; the counts are written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = ["tp", "fn", "fp", "tn"]
    counts = per_label[cells].to_numpy(dtype=float) if len(per_label) else np.zeros((0, 4))
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.5, 0.3 * max(len(per_label), 3) + 1))
    ax.imshow(counts / totals, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(4), ["TP", "FN", "FP", "TN"])
    ax.set_yticks(range(len(per_label)), list(per_label["label"]) if len(per_label) else [])
    for (i, j), value in np.ndenumerate(counts):
        ax.text(
            j,
            i,
            int(value),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value / totals[i, 0] > 0.6 else "black",
        )
    ax.set_title(title, fontsize=9)
    return fig


HUMAN_EVAL_COLUMNS = [
    "model",
    "batch",
    "n_reviewed",
    "n_scored",
    "n_reviews",
    "mean_relevance",
    "subset_accuracy",
    "f1_micro",
    "f1_macro",
    "hamming_loss",
    "f1_micro_ci_low",
    "f1_micro_ci_high",
    "f1_micro_vs_reference",
]


def _ok(captions: pd.DataFrame) -> pd.DataFrame:
    return captions[~captions["parse_status"].isin(["invalid", "error"])] if len(captions) else captions


def human_agreement(batch: str, captions: pd.DataFrame, reviews: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Agreement among reviewers, and between each model and the reviewers' majority, on reviewed images."""
    from workbench_dagster.evaluation.agreement import AGREEMENT_COLUMNS, label_agreement
    from workbench_dagster.reviews.inbox import human_majority

    rows = []
    if len(reviews):
        humans = pd.DataFrame(
            {"image_id": reviews["image_id"], "rater": reviews["reviewer"], "labels": reviews["labels"]}
        )
        rows += label_agreement(humans, labels, batch, "humans")
        majority = human_majority(reviews, labels)
        ok = _ok(captions)
        for model in sorted(set(ok["model"])) if len(ok) else []:
            mine = ok[(ok["model"] == model) & ok["image_id"].isin(majority["image_id"])]
            pair = pd.concat(
                [
                    pd.DataFrame({"image_id": mine["image_id"], "rater": model, "labels": mine["labels"]}),
                    pd.DataFrame(
                        {"image_id": majority["image_id"], "rater": "human_majority", "labels": majority["labels"]}
                    ),
                ],
                ignore_index=True,
            )
            rows += label_agreement(pair, labels, batch, f"model_vs_humans:{model}")
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def human_eval_scores(
    batch: str,
    captions: pd.DataFrame,
    prompts: pd.DataFrame,
    reviews: pd.DataFrame,
    labels: list[str],
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> pd.DataFrame:
    """Each model scored against the reviewers' majority labels on the reviewed images, next to its
    score against the construction reference on the same images: where they differ, the reference
    or the taxonomy deserves a second look."""
    from workbench_dagster.reviews.inbox import human_majority

    if reviews.empty:
        return pd.DataFrame(columns=HUMAN_EVAL_COLUMNS)
    majority = human_majority(reviews, labels)
    relevance = pd.to_numeric(reviews["relevance"], errors="coerce")
    ok = _ok(captions)
    rows = []
    for model in sorted(set(captions["model"])) if len(captions) else []:
        scored = ok[ok["model"] == model].merge(majority, on="image_id", suffixes=("", "_human"))
        scores = multilabel_scores(label_lists(scored["labels_human"]), label_lists(scored["labels"]), labels)
        outcomes = outcomes_of(scored["labels_human"], scored["labels"], labels, {})
        ci = bootstrap_intervals(outcomes, n_boot=n_boot, seed=derived_seed(seed, "humans", model, batch))[
            "f1_micro"
        ]
        referenced = scored.merge(
            prompts[prompts["reference_caption"].notna()][["image_id", "reference_labels"]], on="image_id"
        )
        vs_reference = multilabel_scores(
            label_lists(referenced["reference_labels"]), label_lists(referenced["labels"]), labels
        )["f1_micro"]
        rows.append(
            {
                "model": model,
                "batch": batch,
                "n_reviewed": len(majority),
                "n_scored": len(scored),
                "n_reviews": len(reviews),
                "mean_relevance": float(relevance.mean()) if relevance.notna().any() else None,
                "subset_accuracy": scores["subset_accuracy"],
                "f1_micro": scores["f1_micro"],
                "f1_macro": scores["f1_macro"],
                "hamming_loss": scores["hamming_loss"],
                "f1_micro_ci_low": ci["ci_low"],
                "f1_micro_ci_high": ci["ci_high"],
                "f1_micro_vs_reference": vs_reference,
            }
        )
    return pd.DataFrame(rows, columns=HUMAN_EVAL_COLUMNS)
