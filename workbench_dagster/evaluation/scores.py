"""Scores of one model on one batch, against the references known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.bootstrap import (
    HEADLINE_METRICS,
    N_BOOT,
    binarized,
    bootstrap_intervals,
    derived_seed,
    paired_bootstrap,
)
from workbench_dagster.evaluation.metrics import multilabel_scores, per_label_table, rowwise_cosine

CI_METRICS = ("f1_micro", "f1_macro", "subset_accuracy", "hamming_loss", "caption_cosine")
EVAL_COLUMNS = [
    "model",
    "batch",
    "is_training_batch",
    "n_images",
    "n_scored",
    "n_failed",
    "subset_accuracy",
    "sample_accuracy",
    "precision_micro",
    "recall_micro",
    "f1_micro",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "hamming_loss",
    "caption_cosine",
    *[f"{m}_ci_{side}" for m in CI_METRICS for side in ("low", "high")],
    "caption_bertscore",
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


def _vectors(embeddings: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    part = embeddings[embeddings["source"] == source]
    return {
        image_id: np.asarray(vector, dtype=np.float32)
        for image_id, vector in zip(part["image_id"], part["vector"])
    }


def caption_cosine(embeddings: pd.DataFrame, image_ids: list[str]) -> float | None:
    captions, references = _vectors(embeddings, "caption"), _vectors(embeddings, "reference")
    shared = [i for i in image_ids if i in captions and i in references]
    if not shared:
        return None
    a = np.stack([captions[i] for i in shared])
    b = np.stack([references[i] for i in shared])
    return float(np.clip(rowwise_cosine(a, b), -1.0, 1.0).mean())


def _scored(captions: pd.DataFrame, prompts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    referenced = prompts[prompts["reference_caption"].notna()][
        ["image_id", "reference_labels", "reference_caption"]
    ]
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])]
    return ok, ok.merge(referenced, on="image_id")


def _per_image_bertscore(scored: pd.DataFrame) -> np.ndarray:
    """BERTScore F1 of each caption against its reference caption (offline: the packaged MiniLM, 6 layers);
    NaN where a model wrote no caption."""
    from workbench_dagster.evaluation.bertscore import bertscore

    out = np.full(len(scored), np.nan)
    has = [k for k, c in enumerate(scored["caption"]) if isinstance(c, str) and c.strip()] if len(scored) else []
    if has:
        f1 = bertscore(
            [scored["caption"].iloc[k] for k in has], [scored["reference_caption"].iloc[k] for k in has]
        )
        out[has] = np.clip(f1["per_sample_f1"], 0.0, 1.0)
    return out


def _per_image_cosine(embeddings: pd.DataFrame, image_ids: list[str]) -> np.ndarray:
    """Caption-to-reference cosine per image, NaN where either embedding is missing."""
    captions, references = _vectors(embeddings, "caption"), _vectors(embeddings, "reference")
    out = np.full(len(image_ids), np.nan)
    shared = [k for k, i in enumerate(image_ids) if i in captions and i in references]
    if shared:
        a = np.stack([captions[image_ids[k]] for k in shared])
        b = np.stack([references[image_ids[k]] for k in shared])
        out[shared] = np.clip(rowwise_cosine(a, b), -1.0, 1.0)
    return out


def score_partition(
    model: str,
    batch: str,
    captions: pd.DataFrame,
    prompts: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
    is_training_batch: bool,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> dict:
    """A failed caption counts as a failure, not as an empty prediction; images without a reference are not scored.

    Each headline metric carries a bootstrap 95% interval over this partition's images.
    """
    ok, scored = _scored(captions, prompts)
    y_true, y_pred = [list(x) for x in scored["reference_labels"]], [list(x) for x in scored["labels"]]
    metrics = multilabel_scores(y_true, y_pred, labels)
    metrics.pop("n", None)
    cosine = caption_cosine(embeddings, list(scored["image_id"]))
    t, p = binarized(y_true, y_pred, labels)
    per_image = _per_image_cosine(embeddings, list(scored["image_id"]))
    intervals = bootstrap_intervals(
        t, p, np.maximum(per_image, 0.0), n_boot=n_boot, seed=derived_seed(seed, model, batch)
    )
    ci = {f"{m}_ci_{side}": intervals[m][f"ci_{side}"] for m in CI_METRICS for side in ("low", "high")}
    bert = _per_image_bertscore(scored)
    ci["caption_bertscore"] = float(np.nanmean(bert)) if np.isfinite(bert).any() else None
    return {
        "model": model,
        "batch": batch,
        "is_training_batch": is_training_batch,
        "n_images": len(captions),
        "n_scored": len(scored),
        "n_failed": int(len(captions) - len(ok)),
        **metrics,
        "caption_cosine": None if cosine is None else max(0.0, cosine),
        **ci,
    }


def image_scores(
    model: str,
    batch: str,
    captions: pd.DataFrame,
    prompts: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
    is_training_batch: bool,
) -> pd.DataFrame:
    """One row per scored image: what the pooled intervals, paired comparisons and agreement resample."""
    _, scored = _scored(captions, prompts)
    y_true, y_pred = [list(x) for x in scored["reference_labels"]], [list(x) for x in scored["labels"]]
    t, p = binarized(y_true, y_pred, labels)
    union = (t | p).sum(axis=1)
    rows = pd.DataFrame(
        {
            "model": model,
            "batch": batch,
            "image_id": list(scored["image_id"]),
            "is_training_batch": is_training_batch,
            "reference_labels": [sorted(x) for x in y_true],
            "labels": [sorted(x) for x in y_pred],
            "exact_match": (t == p).all(axis=1) if len(t) else np.zeros(0, dtype=bool),
            "jaccard": np.where(union == 0, 1.0, (t & p).sum(axis=1) / np.maximum(union, 1)).astype(float),
            "hamming": ((t ^ p).sum(axis=1) / max(len(labels), 1)).astype(float),
            "caption_cosine": np.maximum(_per_image_cosine(embeddings, list(scored["image_id"])), 0.0),
            "caption_bertscore": _per_image_bertscore(scored),
        },
        columns=IMAGE_SCORE_COLUMNS,
    )
    return rows


def per_label_scores(
    model: str,
    batch: str,
    captions: pd.DataFrame,
    prompts: pd.DataFrame,
    labels: list[str],
    is_training_batch: bool,
) -> pd.DataFrame:
    """The per-label confusion counts and scores; every taxonomy label has a row, support 0 included."""
    _, scored = _scored(captions, prompts)
    table = per_label_table(
        [list(x) for x in scored["reference_labels"]], [list(x) for x in scored["labels"]], labels
    )
    df = pd.DataFrame(table)
    if df.empty:
        return pd.DataFrame(columns=PER_LABEL_COLUMNS)
    df.insert(0, "is_training_batch", is_training_batch)
    df.insert(0, "batch", batch)
    df.insert(0, "model", model)
    return df[PER_LABEL_COLUMNS]


def _held_out(images: pd.DataFrame) -> pd.DataFrame:
    if images.empty:
        return images
    return images[~images["is_training_batch"].fillna(False).astype(bool)]


def _matrices(images: pd.DataFrame, labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t, p = binarized([list(x) for x in images["reference_labels"]], [list(x) for x in images["labels"]], labels)
    return t, p, images["caption_cosine"].to_numpy(dtype=float)


def metric_intervals(
    model: str, images: pd.DataFrame, labels: list[str], seed: int = 0, n_boot: int = N_BOOT
) -> pd.DataFrame:
    """Pooled over the model's held-out batches: one row per headline metric with its 95% interval."""
    mine = _held_out(images[images["model"] == model]) if len(images) else images
    t, p, cosine = _matrices(mine, labels) if len(mine) else (np.zeros((0, len(labels))),) * 2 + (None,)
    run_seed = derived_seed(seed, "intervals", model)
    intervals = bootstrap_intervals(t, p, cosine, n_boot=n_boot, seed=run_seed)
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
            for m in HEADLINE_METRICS
        ],
        columns=INTERVAL_COLUMNS,
    )


def model_comparisons(
    model: str, images: pd.DataFrame, labels: list[str], seed: int = 0, n_boot: int = N_BOOT
) -> pd.DataFrame:
    """This model against every other, paired on the held-out images both scored.

    The seed depends on the unordered pair, so A-vs-B and B-vs-A resample the same images and
    their intervals mirror each other exactly.
    """
    held = _held_out(images) if len(images) else images
    rows = []
    others = sorted(set(held["model"]) - {model}) if len(held) else []
    mine = held[held["model"] == model] if len(held) else held
    for other in others:
        theirs = held[held["model"] == other]
        pair = mine.merge(theirs, on=["batch", "image_id"], suffixes=("_a", "_b")).sort_values(
            ["batch", "image_id"]
        )
        t, p_a = binarized(
            [list(x) for x in pair["reference_labels_a"]], [list(x) for x in pair["labels_a"]], labels
        )
        _, p_b = binarized(
            [list(x) for x in pair["reference_labels_a"]], [list(x) for x in pair["labels_b"]], labels
        )
        pair_seed = derived_seed(seed, "paired", *sorted([model, other]))
        result = paired_bootstrap(
            t,
            p_a,
            p_b,
            pair["caption_cosine_a"].to_numpy(dtype=float),
            pair["caption_cosine_b"].to_numpy(dtype=float),
            n_boot=n_boot,
            seed=pair_seed,
        )
        for m in HEADLINE_METRICS:
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
        y_true, y_pred = [list(x) for x in scored["labels_human"]], [list(x) for x in scored["labels"]]
        scores = multilabel_scores(y_true, y_pred, labels)
        t, p = binarized(y_true, y_pred, labels)
        ci = bootstrap_intervals(t, p, n_boot=n_boot, seed=derived_seed(seed, "humans", model, batch))["f1_micro"]
        referenced = scored.merge(
            prompts[prompts["reference_caption"].notna()][["image_id", "reference_labels"]], on="image_id"
        )
        vs_reference = multilabel_scores(
            [list(x) for x in referenced["reference_labels"]], [list(x) for x in referenced["labels"]], labels
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
