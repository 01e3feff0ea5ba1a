"""Scores for multi-label image tagging and for caption embeddings.

Every model is scored against the same fixed taxonomy, so a label the model never
predicts still counts (as a zero) in the macro averages instead of silently vanishing.
Labels outside the taxonomy are dropped before scoring: a hallucinated tag cannot be
matched to ground truth, and the taxonomy is the contract the prompts ask for.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer, normalize

from workbench_dagster.evaluation.metric_registry import LABEL_METRICS, Outcomes, point_estimates

SCORE_KEYS = LABEL_METRICS


def _binarize(label_sets: list[list[str]], labels: list[str]) -> np.ndarray:
    known = set(labels)
    binarizer = MultiLabelBinarizer(classes=list(labels))
    return binarizer.fit_transform([[lab for lab in s if lab in known] for s in label_sets])


def multilabel_scores(y_true: list[list[str]], y_pred: list[list[str]], labels: list[str]) -> dict:
    """Scores of one model on one batch, the registry's label metrics; None everywhere when there is
    nothing to score.

    None rather than NaN because these rows end up in JSON and SQL, where NaN either
    fails or poisons averages without anyone noticing.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} samples but y_pred has {len(y_pred)}")
    n = len(y_true)
    if n == 0:
        return {"n": 0, **dict.fromkeys(SCORE_KEYS)}
    outcomes = Outcomes(_binarize(y_true, labels), _binarize(y_pred, labels))
    return {"n": n, **point_estimates(outcomes, SCORE_KEYS)}


def majority_label_predictor(train_labels: list[list[str]], labels: list[str]) -> list[str]:
    """The label set a model with no eyes would predict for every image.

    Labels in more than half of the training images; any model worth running must beat it.
    """
    if not train_labels:
        return []
    prevalence = _binarize(train_labels, labels).mean(axis=0)
    return [label for label, share in zip(labels, prevalence) if share > 0.5]


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each pair of corresponding rows; a zero vector scores 0 instead of NaN."""
    a, b = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    return np.einsum("ij,ij->i", normalize(a), normalize(b))


def per_label_table(y_true: list[list[str]], y_pred: list[list[str]], labels: list[str]) -> list[dict]:
    """One row per taxonomy label, so weak labels can be spotted behind a good average."""
    if not y_true:
        return []
    t, p = _binarize(y_true, labels), _binarize(y_pred, labels)
    confusion = multilabel_confusion_matrix(t, p)
    precision, recall, f1, support = precision_recall_fscore_support(t, p, average=None, zero_division=0)
    return [
        {
            "label": label,
            "support": int(support[i]),
            "tp": int(confusion[i, 1, 1]),
            "fp": int(confusion[i, 0, 1]),
            "fn": int(confusion[i, 1, 0]),
            "tn": int(confusion[i, 0, 0]),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
        }
        for i, label in enumerate(labels)
    ]
