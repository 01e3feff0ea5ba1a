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


PROFILE_COLUMNS = ["reference_batch", "model", "kind", "profile", "n"]


def _usable(captions: pd.DataFrame) -> pd.DataFrame:
    return captions[~captions["parse_status"].isin(["invalid", "error"])] if len(captions) else captions


def _profiles(batch: str, prompts, captions, embeddings, labels: list[str]):
    """(model, kind) -> (profile vector, n) of one batch: label distributions and mean caption vectors."""
    out = {}
    if len(prompts):
        known = prompts[prompts["reference_caption"].notna() & (prompts["batch"] == batch)]
        p = label_distribution(list(known["reference_labels"]), labels)
        if p is not None:
            out[(REFERENCE, "labels")] = (p, len(known))
    ok = _usable(captions)
    for model in sorted(set(ok["model"])) if len(ok) else []:
        mine = ok[(ok["model"] == model) & (ok["batch"] == batch)]
        p = label_distribution(list(mine["labels"]), labels)
        if p is not None:
            out[(model, "labels")] = (p, len(mine))
    captioned = embeddings[embeddings["source"] == "caption"] if len(embeddings) else embeddings
    for model in sorted(set(captioned["model"])) if len(captioned) else []:
        mine = captioned[(captioned["model"] == model) & (captioned["batch"] == batch)]
        vectors = [np.asarray(v, dtype=float) for v in mine["vector"]]
        if vectors:
            out[(model, "embeddings")] = (np.stack(vectors).mean(axis=0), len(vectors))
    return out


def reference_profile(reference_batch: str, prompts, captions, embeddings, labels: list[str]) -> pd.DataFrame:
    """What every batch is compared with, computed once from the training batch alone, so a batch's
    drift reads its own batch and this, not every batch."""
    rows = [
        {"reference_batch": reference_batch, "model": model, "kind": kind, "profile": vector.tolist(), "n": n}
        for (model, kind), (vector, n) in _profiles(reference_batch, prompts, captions, embeddings, labels).items()
    ]
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


def drift_from_profile(
    batch: str, profile: pd.DataFrame, prompts, captions, embeddings, labels: list[str]
) -> pd.DataFrame:
    reference = {
        (r.model, r.kind): (np.asarray(r.profile, dtype=float), int(r.n), r.reference_batch)
        for r in profile.itertuples(index=False)
    }
    rows = []
    for (model, kind), (here, n_here) in _profiles(batch, prompts, captions, embeddings, labels).items():
        if (model, kind) not in reference:
            continue
        there, n_there, reference_batch = reference[(model, kind)]
        if kind == "labels":
            value, metric, threshold = js_distance(here, there), "jensen_shannon_distance", LABEL_JS_THRESHOLD
        else:
            value = mean_cosine_distance(here[None, :], there[None, :])
            metric, threshold = "mean_cosine_distance", EMBEDDING_COSINE_THRESHOLD
        rows.append(_row(batch, reference_batch, model, kind, metric, value, threshold, n_here, n_there))
    order = {"labels": 0, "embeddings": 1}
    rows.sort(key=lambda r: (order[r["kind"]], r["model"] != REFERENCE, r["model"]))
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def batch_drift(
    batch: str,
    reference_batch: str,
    prompts: pd.DataFrame,
    captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
) -> pd.DataFrame:
    """Both batches' rows in one set of frames: the reference profile, then the drift from it."""
    profile = reference_profile(reference_batch, prompts, captions, embeddings, labels)
    return drift_from_profile(batch, profile, prompts, captions, embeddings, labels)
