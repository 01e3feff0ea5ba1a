"""Scores of one model on one batch, against the references known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.metrics import multilabel_scores, rowwise_cosine

EVAL_COLUMNS = ["model", "batch", "is_training_batch", "n_images", "n_scored", "n_failed", "subset_accuracy",
                "sample_accuracy", "precision_micro", "recall_micro", "f1_micro", "precision_macro", "recall_macro",
                "f1_macro", "hamming_loss", "caption_cosine"]


def _vectors(embeddings: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    part = embeddings[embeddings["source"] == source]
    return {image_id: np.asarray(vector, dtype=np.float32) for image_id, vector in zip(part["image_id"], part["vector"])}


def caption_cosine(embeddings: pd.DataFrame, image_ids: list[str]) -> float | None:
    captions, references = _vectors(embeddings, "caption"), _vectors(embeddings, "reference")
    shared = [i for i in image_ids if i in captions and i in references]
    if not shared:
        return None
    a = np.stack([captions[i] for i in shared])
    b = np.stack([references[i] for i in shared])
    return float(np.clip(rowwise_cosine(a, b), -1.0, 1.0).mean())


def score_partition(model: str, batch: str, captions: pd.DataFrame, prompts: pd.DataFrame, embeddings: pd.DataFrame,
                    labels: list[str], is_training_batch: bool) -> dict:
    """A failed caption counts as a failure, not as an empty prediction; images without a reference are not scored."""
    referenced = prompts[prompts["reference_caption"].notna()][["image_id", "reference_labels"]]
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])]
    scored = ok.merge(referenced, on="image_id")
    metrics = multilabel_scores([list(x) for x in scored["reference_labels"]], [list(x) for x in scored["labels"]], labels)
    metrics.pop("n", None)
    cosine = caption_cosine(embeddings, list(scored["image_id"]))
    return {
        "model": model, "batch": batch, "is_training_batch": is_training_batch, "n_images": len(captions),
        "n_scored": len(scored), "n_failed": int(len(captions) - len(ok)), **metrics,
        "caption_cosine": None if cosine is None else max(0.0, cosine),
    }
