"""How well `ai_image_detector` tells generated images from camera images, on held-out images only,
with bootstrap 95% intervals (resampled images, workbench_dagster/evaluation/bootstrap.py).

Ground truth is provenance (`ground_truth` of image_provenance): a rate needs held-out images of
both kinds. Where there are none of one kind (the offline demo has no camera images), every metric
row is written with no estimate and a note saying why: a detection rate on one class would be
invented, not measured.

Metrics: accuracy and balanced accuracy at P >= 0.5, the true-positive rate (generated images
caught), the false-positive rate (camera images called generated) and ROC AUC (the chance a
generated image scores above a camera one, ties counting half).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.bootstrap import N_BOOT, bootstrap_weights
from workbench_dagster.evaluation.bootstrap import _percentiles as interval

EVALUATION_VERSION = 2  # bump when the metrics or the notes change, so the asset runs again
EVAL_COLUMNS = [
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "n_images",
    "n_generated",
    "n_camera",
    "n_boot",
    "seed",
    "note",
]
METRICS = ("accuracy", "balanced_accuracy", "true_positive_rate", "false_positive_rate", "roc_auc")


def _statistics(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric for each row of `weights` (n_boot, n): one matrix product per metric."""
    predicted = p >= 0.5
    pos, neg = y == 1, y == 0
    w_pos, w_neg = weights[:, pos], weights[:, neg]
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = (w_pos * predicted[pos]).sum(1) / w_pos.sum(1)
        fpr = (w_neg * predicted[neg]).sum(1) / w_neg.sum(1)
        accuracy = (weights * (predicted == pos)).sum(1) / weights.sum(1)
        wins = (p[pos][:, None] > p[neg][None, :]) + 0.5 * (p[pos][:, None] == p[neg][None, :])
        auc = np.einsum("bi,ij,bj->b", w_pos, wins, w_neg) / (w_pos.sum(1) * w_neg.sum(1))
    return {
        "accuracy": accuracy,
        "balanced_accuracy": (tpr + (1 - fpr)) / 2,
        "true_positive_rate": tpr,
        "false_positive_rate": fpr,
        "roc_auc": auc,
    }


def evaluate_detector(scores: pd.DataFrame, seed: int, n_boot: int = N_BOOT) -> pd.DataFrame:
    held = scores[scores["split"] == "heldout"].drop_duplicates("sha256")
    y = (held["ground_truth"] == "generated").to_numpy().astype(int)
    n_gen, n_cam = int(y.sum()), int(len(y) - y.sum())
    base = {"n_images": len(y), "n_generated": n_gen, "n_camera": n_cam, "n_boot": n_boot, "seed": seed}
    note = _why_not(scores, n_gen, n_cam)
    if note:
        return pd.DataFrame(
            [
                {"metric": m, "estimate": None, "ci_low": None, "ci_high": None, **base, "note": note}
                for m in METRICS
            ],
            columns=EVAL_COLUMNS,
        )
    p = held["p_generated"].to_numpy(dtype=float)
    point = _statistics(y, p, np.ones((1, len(y))))
    resampled = _statistics(y, p, bootstrap_weights(len(y), n_boot, seed))
    rows = []
    for metric in METRICS:
        low, high = interval(resampled[metric])
        rows.append(
            {
                "metric": metric,
                "estimate": float(point[metric][0]),
                "ci_low": low,
                "ci_high": high,
                **base,
                "note": "",
            }
        )
    return pd.DataFrame(rows, columns=EVAL_COLUMNS)


def _why_not(scores: pd.DataFrame, n_generated: int, n_camera: int) -> str:
    """Why there is no rate, or "" when there is one. The counts are of held-out labelled images."""
    if n_camera == 0:
        return "no camera-labelled held-out images (only generated images have provenance): no rate"
    if n_generated == 0:
        return "no generated held-out images: no rate"
    if not (scores["status"] == "scored").any():
        return (
            "detector not trained (too few labelled training images of one kind, see ai_image_detector): no rate"
        )
    return ""
