"""Bootstrap confidence intervals over images, and paired bootstrap differences between models.

A score on 64 images moves by several points if another 64 are drawn, so a leaderboard that
ranks two models 0.01 apart without an interval claims more than it knows. Every metric the
registry marks `resampled` is recomputed on resamples of the images (with replacement), all
metrics and all models on the same resamples, so:

- an interval is the 2.5th to 97.5th percentile of a metric over the resamples;
- a model-vs-model difference is computed on the *same* resampled images for both models
  (paired), which removes the image-difficulty variance both share; the difference is
  significant when its interval excludes zero.

Resamples are drawn as multinomial image weights, so one pass of each registered statistic
scores all of them, and the point estimate is that statistic with every weight 1.
Seeds derive from the config seed and the partition name: the same data gives the same
interval on every run.
"""

from __future__ import annotations

import zlib

import numpy as np

from workbench_dagster.evaluation.metric_registry import BY_NAME, RESAMPLED, Outcomes, point_estimates, scores
from workbench_dagster.evaluation.metrics import _binarize

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
    outcomes: Outcomes, n_boot: int = N_BOOT, seed: int = 0, level: float = CI_LEVEL
) -> dict[str, dict]:
    """metric -> {estimate, ci_low, ci_high} for every resampled metric; all None when there is no image."""
    n = len(outcomes)
    if n == 0:
        return {m: {"estimate": None, "ci_low": None, "ci_high": None} for m in RESAMPLED}
    point = point_estimates(outcomes, RESAMPLED)
    resampled = scores(outcomes, bootstrap_weights(n, n_boot, seed))
    out = {}
    for metric in RESAMPLED:
        low, high = _percentiles(resampled[metric], level)
        out[metric] = {"estimate": point[metric], "ci_low": low, "ci_high": high}
    return out


def paired_bootstrap(
    a: Outcomes, b: Outcomes, n_boot: int = N_BOOT, seed: int = 0, level: float = CI_LEVEL
) -> dict[str, dict]:
    """metric -> difference A - B on the same images, its interval, a two-sided bootstrap p-value and a verdict.

    The verdict reads in the metric's own direction: for Hamming loss a negative difference
    means A is better.
    """
    n = len(a)
    if n == 0:
        return {
            m: {
                "difference": None,
                "ci_low": None,
                "ci_high": None,
                "p_value": None,
                "verdict": "no shared images",
            }
            for m in RESAMPLED
        }
    ones, weights = np.ones((1, n)), bootstrap_weights(n, n_boot, seed)
    point_a, point_b = scores(a, ones), scores(b, ones)
    boot_a, boot_b = scores(a, weights), scores(b, weights)
    out = {}
    for metric in RESAMPLED:
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
        lower_is_better = BY_NAME[metric].lower_is_better
        better = (high < 0) if lower_is_better else (low > 0)
        worse = (low > 0) if lower_is_better else (high < 0)
        verdict = "A better" if better else "B better" if worse else "no clear difference"
        out[metric] = {
            "difference": estimate,
            "ci_low": low,
            "ci_high": high,
            "p_value": p_value,
            "verdict": verdict,
        }
    return out
