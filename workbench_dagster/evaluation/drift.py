"""Has a batch drifted away from the batch the baseline was trained on?

Two views, each per model and against the training batch:

- labels: the Jensen-Shannon distance (base 2, so in [0, 1]) between the label distributions
  (how often each taxonomy label is assigned, normalised over labels), for the reference labels
  where a batch has them and for every model's predicted labels;
- embeddings: the cosine distance between the mean caption embeddings of the two batches
  (1 - cosine, in [0, 2]; 0 when the average caption says the same thing).

A batch far from the training batch is where scores measured on earlier batches stop telling the
truth, so it is flagged (a warning, not a stop: new material is the point of a new batch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DRIFT_COLUMNS = [
    "batch",
    "reference_batch",
    "model",
    "kind",
    "metric",
    "value",
    "threshold",
    "drifted",
    "n_batch",
    "n_reference",
]
LABEL_JS_THRESHOLD = 0.3
EMBEDDING_COSINE_THRESHOLD = 0.15
REFERENCE = "reference_labels"


def label_distribution(label_sets, labels: list[str]) -> np.ndarray | None:
    counts = np.zeros(len(labels))
    index = {label: k for k, label in enumerate(labels)}
    for chosen in label_sets:
        for label in chosen:
            if label in index:
                counts[index[label]] += 1
    return counts / counts.sum() if counts.sum() else None


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(np.clip(jensenshannon(p, q, base=2), 0.0, 1.0))


def mean_cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = np.asarray(a, dtype=float).mean(axis=0), np.asarray(b, dtype=float).mean(axis=0)
    denominator = np.linalg.norm(ma) * np.linalg.norm(mb)
    return float(np.clip(1.0 - ma @ mb / denominator, 0.0, 2.0)) if denominator else 0.0


def _row(batch, reference_batch, model, kind, metric, value, threshold, n_batch, n_reference) -> dict:
    return {
        "batch": batch,
        "reference_batch": reference_batch,
        "model": model,
        "kind": kind,
        "metric": metric,
        "value": value,
        "threshold": threshold,
        "drifted": bool(value > threshold),
        "n_batch": n_batch,
        "n_reference": n_reference,
    }


def batch_drift(
    batch: str,
    reference_batch: str,
    prompts: pd.DataFrame,
    captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
) -> pd.DataFrame:
    rows = []

    def label_row(model, here, there):
        p, q = label_distribution(here, labels), label_distribution(there, labels)
        if p is not None and q is not None:
            rows.append(
                _row(
                    batch,
                    reference_batch,
                    model,
                    "labels",
                    "jensen_shannon_distance",
                    js_distance(p, q),
                    LABEL_JS_THRESHOLD,
                    len(here),
                    len(there),
                )
            )

    if len(prompts):
        known = prompts[prompts["reference_caption"].notna()]
        label_row(
            REFERENCE,
            list(known.loc[known["batch"] == batch, "reference_labels"]),
            list(known.loc[known["batch"] == reference_batch, "reference_labels"]),
        )
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])] if len(captions) else captions
    for model in sorted(set(ok["model"])) if len(ok) else []:
        mine = ok[ok["model"] == model]
        label_row(
            model,
            list(mine.loc[mine["batch"] == batch, "labels"]),
            list(mine.loc[mine["batch"] == reference_batch, "labels"]),
        )
    captioned = embeddings[embeddings["source"] == "caption"] if len(embeddings) else embeddings
    for model in sorted(set(captioned["model"])) if len(captioned) else []:
        mine = captioned[captioned["model"] == model]
        here = [np.asarray(v, dtype=float) for v in mine.loc[mine["batch"] == batch, "vector"]]
        there = [np.asarray(v, dtype=float) for v in mine.loc[mine["batch"] == reference_batch, "vector"]]
        if here and there:
            rows.append(
                _row(
                    batch,
                    reference_batch,
                    model,
                    "embeddings",
                    "mean_cosine_distance",
                    mean_cosine_distance(np.stack(here), np.stack(there)),
                    EMBEDDING_COSINE_THRESHOLD,
                    len(here),
                    len(there),
                )
            )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)
