"""Bootstrap confidence intervals over images, and paired bootstrap differences between models.

A score on 64 images moves by several points if another 64 are drawn, so a leaderboard that
ranks two models 0.01 apart without an interval claims more than it knows. Every headline
metric is recomputed on resamples of the images (with replacement), all metrics and all
models on the same resamples, so:

- an interval is the 2.5th to 97.5th percentile of a metric over the resamples;
- a model-vs-model difference is computed on the *same* resampled images for both models
  (paired), which removes the image-difficulty variance both share; the difference is
  significant when its interval excludes zero.

Resamples are drawn as multinomial image weights, so one matrix product scores all of them,
and the point estimate is the same formula with every weight 1 (it equals scikit-learn's).
Seeds derive from the config seed and the partition name: the same data gives the same
interval on every run.
"""

from __future__ import annotations

import zlib

import numpy as np

from workbench_dagster.evaluation.metrics import _binarize

HEADLINE_METRICS = (
    "f1_micro",
    "f1_macro",
    "precision_micro",
    "recall_micro",
    "subset_accuracy",
    "sample_accuracy",
    "hamming_loss",
    "caption_cosine",
)
LOWER_IS_BETTER = frozenset({"hamming_loss"})
N_BOOT = 1000
CI_LEVEL = 0.95


def derived_seed(seed: int, *names: str) -> int:
    """A stable per-partition seed: Python's hash() is salted per process, crc32 is not."""
    return (int(seed) * 1_000_003 + zlib.crc32("|".join(names).encode())) % (2**32)


def bootstrap_weights(n: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n) counts: how often each image appears in each resample of size n."""
    if n == 0:
        return np.zeros((n_boot, 0))
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros_like(num, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


def weighted_scores(t: np.ndarray, p: np.ndarray, weights: np.ndarray, cosine: np.ndarray | None = None) -> dict:
    """Every headline metric under each row of image weights; shape (n_rows,) per metric.

    t, p: (n, L) 0/1 matrices of reference and predicted labels; cosine: (n,) with NaN where an
    image has no caption embedding.
    """
    t, p = np.asarray(t, dtype=bool), np.asarray(p, dtype=bool)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    n_labels = t.shape[1]
    tp, fp, fn = (t & p).astype(float), (~t & p).astype(float), (t & ~p).astype(float)
    total = weights.sum(axis=1)
    label_tp, label_fp, label_fn = weights @ tp, weights @ fp, weights @ fn
    s_tp, s_fp, s_fn = label_tp.sum(axis=1), label_fp.sum(axis=1), label_fn.sum(axis=1)
    precision_micro, recall_micro = _ratio(s_tp, s_tp + s_fp), _ratio(s_tp, s_tp + s_fn)
    union = (t | p).sum(axis=1)
    jaccard = np.where(union == 0, 1.0, _ratio(tp.sum(axis=1), union.astype(float)))
    scores = {
        "f1_micro": _ratio(2 * s_tp, 2 * s_tp + s_fp + s_fn),
        "precision_micro": precision_micro,
        "recall_micro": recall_micro,
        "f1_macro": _ratio(2 * label_tp, 2 * label_tp + label_fp + label_fn).mean(axis=1)
        if n_labels
        else np.zeros(len(weights)),
        "subset_accuracy": _ratio(weights @ (t == p).all(axis=1).astype(float), total),
        "sample_accuracy": _ratio(weights @ jaccard, total),
        "hamming_loss": _ratio(weights @ ((fp + fn).sum(axis=1) / max(n_labels, 1)), total),
    }
    if cosine is None:
        scores["caption_cosine"] = np.full(len(weights), np.nan)
    else:
        cosine = np.asarray(cosine, dtype=float)
        known = ~np.isnan(cosine)
        seen = weights[:, known].sum(axis=1)
        summed = weights[:, known] @ cosine[known]
        scores["caption_cosine"] = np.where(seen > 0, summed / np.where(seen > 0, seen, 1), np.nan)
    return scores


def _percentiles(samples: np.ndarray, level: float = CI_LEVEL) -> tuple[float | None, float | None]:
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _none(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def binarized(
    y_true: list[list[str]], y_pred: list[list[str]], labels: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    if not y_true:
        return np.zeros((0, len(labels)), dtype=bool), np.zeros((0, len(labels)), dtype=bool)
    return _binarize(y_true, labels).astype(bool), _binarize(y_pred, labels).astype(bool)


def bootstrap_intervals(
    t: np.ndarray,
    p: np.ndarray,
    cosine: np.ndarray | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = CI_LEVEL,
) -> dict[str, dict]:
    """metric -> {estimate, ci_low, ci_high}; all None when there is no image to score."""
    n = len(t)
    if n == 0:
        return {m: {"estimate": None, "ci_low": None, "ci_high": None} for m in HEADLINE_METRICS}
    point = weighted_scores(t, p, np.ones((1, n)), cosine)
    resampled = weighted_scores(t, p, bootstrap_weights(n, n_boot, seed), cosine)
    out = {}
    for metric in HEADLINE_METRICS:
        low, high = _percentiles(resampled[metric], level)
        out[metric] = {"estimate": _none(point[metric][0]), "ci_low": low, "ci_high": high}
    return out


def paired_bootstrap(
    t: np.ndarray,
    p_a: np.ndarray,
    p_b: np.ndarray,
    cosine_a: np.ndarray | None = None,
    cosine_b: np.ndarray | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    level: float = CI_LEVEL,
) -> dict[str, dict]:
    """metric -> difference A - B on the same images, its interval, a two-sided bootstrap p-value and a verdict.

    The verdict reads in the metric's own direction: for Hamming loss a negative difference
    means A is better.
    """
    n = len(t)
    if n == 0:
        return {
            m: {
                "difference": None,
                "ci_low": None,
                "ci_high": None,
                "p_value": None,
                "verdict": "no shared images",
            }
            for m in HEADLINE_METRICS
        }
    ones, weights = np.ones((1, n)), bootstrap_weights(n, n_boot, seed)
    point_a, point_b = weighted_scores(t, p_a, ones, cosine_a), weighted_scores(t, p_b, ones, cosine_b)
    boot_a, boot_b = weighted_scores(t, p_a, weights, cosine_a), weighted_scores(t, p_b, weights, cosine_b)
    out = {}
    for metric in HEADLINE_METRICS:
        diff = boot_a[metric] - boot_b[metric]
        diff = diff[~np.isnan(diff)]
        estimate = _none((point_a[metric] - point_b[metric])[0])
        if estimate is None or not len(diff):
            out[metric] = {
                "difference": None,
                "ci_low": None,
                "ci_high": None,
                "p_value": None,
                "verdict": "not scored",
            }
            continue
        low, high = _percentiles(diff, level)
        p_value = float(min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean())))
        better = (low > 0) if metric not in LOWER_IS_BETTER else (high < 0)
        worse = (high < 0) if metric not in LOWER_IS_BETTER else (low > 0)
        verdict = "A better" if better else "B better" if worse else "no clear difference"
        out[metric] = {
            "difference": estimate,
            "ci_low": low,
            "ci_high": high,
            "p_value": p_value,
            "verdict": verdict,
        }
    return out
