"""What each scored image contributes to the metrics: its labels next to the reference, and its
caption scores.

Per-partition scores, pooled intervals and paired comparisons all resample images, so they
all start from the same per-image `Outcomes`; only where the frames come from differs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.bootstrap import binarized
from workbench_dagster.evaluation.metric_registry import METRICS, Outcomes
from workbench_dagster.evaluation.metrics import rowwise_cosine

CAPTION_SCORES = tuple(m.per_image for m in METRICS if m.per_image)


def scored_captions(captions: pd.DataFrame, prompts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(captions that did not fail, those of them whose image has a reference)."""
    referenced = prompts[prompts["reference_caption"].notna()][
        ["image_id", "reference_labels", "reference_caption"]
    ]
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])]
    return ok, ok.merge(referenced, on="image_id")


def _vectors(embeddings: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    part = embeddings[embeddings["source"] == source]
    return {
        image_id: np.asarray(vector, dtype=np.float32)
        for image_id, vector in zip(part["image_id"], part["vector"])
    }


def caption_cosines(embeddings: pd.DataFrame, image_ids: list[str]) -> np.ndarray:
    """Caption-to-reference cosine per image, floored at 0 (an opposite caption is no better than an
    unrelated one); NaN where either embedding is missing."""
    captions, references = _vectors(embeddings, "caption"), _vectors(embeddings, "reference")
    out = np.full(len(image_ids), np.nan)
    shared = [k for k, i in enumerate(image_ids) if i in captions and i in references]
    if shared:
        a = np.stack([captions[image_ids[k]] for k in shared])
        b = np.stack([references[image_ids[k]] for k in shared])
        out[shared] = np.clip(rowwise_cosine(a, b), -1.0, 1.0)
    return np.maximum(out, 0.0)


def caption_bertscores(scored: pd.DataFrame) -> np.ndarray:
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


def label_lists(column: pd.Series) -> list[list[str]]:
    return [list(x) for x in column]


def outcomes_of(
    truth: pd.Series, predicted: pd.Series, labels: list[str], caption_scores: dict[str, np.ndarray]
) -> Outcomes:
    t, p = binarized(label_lists(truth), label_lists(predicted), labels)
    return Outcomes(t, p, caption_scores)


def image_outcomes(images: pd.DataFrame, labels: list[str], suffix: str = "") -> Outcomes:
    """Outcomes from `image_scores` rows; `suffix` picks one side of a merged pair ("_a", "_b")."""
    scores = {
        name: images[name + suffix].to_numpy(dtype=float) for name in CAPTION_SCORES if name + suffix in images
    }
    return outcomes_of(images[f"reference_labels{suffix}"], images[f"labels{suffix}"], labels, scores)
