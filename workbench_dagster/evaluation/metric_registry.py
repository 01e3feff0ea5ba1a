"""Every metric the workbench reports, each declared once.

A metric is a statistic of image weights: the point estimate is the statistic with every image
weighted 1, and each bootstrap resample is the same statistic under that resample's image counts.
So an estimate and its interval come from one piece of code and cannot drift apart. Columns,
intervals, table rules and the leaderboard check all read `METRICS`; adding a metric is one entry
here and its test.

Sums are taken so that unit weights reproduce scikit-learn's numbers bit for bit: counts are summed
before they are divided, and per-image scores are added in NumPy's pairwise order (as `np.mean`
does), not by a BLAS dot product whose order depends on the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

PRIMARY = "f1_micro"


@dataclass(frozen=True)
class Outcomes:
    """One model on n images: (n, L) reference and predicted labels, and per-image caption scores
    (NaN where an image has none) under the name of the metric that averages them."""

    truth: np.ndarray
    predicted: np.ndarray
    per_image: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "truth", np.asarray(self.truth, dtype=bool))
        object.__setattr__(self, "predicted", np.asarray(self.predicted, dtype=bool))

    def __len__(self) -> int:
        return len(self.truth)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros_like(num, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


class Weighted:
    """Outcomes under rows of image weights; the counts several metrics share are summed once."""

    def __init__(self, outcomes: Outcomes, weights: np.ndarray):
        self.outcomes = outcomes
        self.weights = np.atleast_2d(np.asarray(weights, dtype=float))
        t, p = outcomes.truth, outcomes.predicted
        self.n_labels = t.shape[1]
        self.cells = {"tp": t & p, "fp": ~t & p, "fn": t & ~p}

    @cached_property
    def total(self) -> np.ndarray:
        return self.weights.sum(axis=1)

    @cached_property
    def per_label(self) -> dict[str, np.ndarray]:
        """(rows, L) weighted tp, fp, fn of each label."""
        return {k: self.weights @ v.astype(float) for k, v in self.cells.items()}

    @cached_property
    def pooled(self) -> dict[str, np.ndarray]:
        """(rows,) weighted tp, fp, fn over every label."""
        return {k: v.sum(axis=1) for k, v in self.per_label.items()}

    def label_mean(self, per_label: np.ndarray) -> np.ndarray:
        """Macro average; 0 for an empty taxonomy."""
        return per_label.mean(axis=1) if self.n_labels else np.zeros(len(self.weights))

    def image_mean(self, values: np.ndarray) -> np.ndarray:
        """Weighted mean of one value per image over the images that have one; NaN where none has."""
        values = np.asarray(values, dtype=float)
        known = ~np.isnan(values)
        seen = self.weights[:, known].sum(axis=1)
        summed = (self.weights[:, known] * values[known]).sum(axis=1)
        return np.where(seen > 0, summed / np.where(seen > 0, seen, 1), np.nan)

    def caption_mean(self, name: str) -> np.ndarray:
        values = self.outcomes.per_image.get(name)
        return np.full(len(self.weights), np.nan) if values is None else self.image_mean(values)


@dataclass(frozen=True)
class Metric:
    """name: the column; statistic: Weighted -> one value per weight row.

    resampled: has a pooled bootstrap interval and paired model comparisons.
    headline: a leaderboard column, with its interval in every eval_scores row.
    per_image: scored from a per-image caption score of that name, not from the labels.
    """

    name: str
    statistic: Callable[[Weighted], np.ndarray]
    lower_is_better: bool = False
    bounds: tuple[float, float] = (0.0, 1.0)
    resampled: bool = True
    headline: bool = False
    per_image: str | None = None


def _f1(tp, fp, fn):
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _subset_accuracy(w: Weighted) -> np.ndarray:
    exact = (w.outcomes.truth == w.outcomes.predicted).all(axis=1)
    return _ratio(w.weights @ exact.astype(float), w.total)


def _sample_accuracy(w: Weighted) -> np.ndarray:
    """Jaccard of each image's two label sets; no true and no predicted label is a correct description."""
    t, p = w.outcomes.truth, w.outcomes.predicted
    union = (t | p).sum(axis=1)
    jaccard = np.where(union == 0, 1.0, _ratio((t & p).sum(axis=1).astype(float), union.astype(float)))
    return w.image_mean(jaccard)


def _hamming_loss(w: Weighted) -> np.ndarray:
    wrong = (w.cells["fp"] | w.cells["fn"]).sum(axis=1).astype(float)
    return _ratio(w.weights @ wrong, w.total * max(w.n_labels, 1))


def _caption(name: str) -> Metric:
    return Metric(name, lambda w: w.caption_mean(name), headline=True, per_image=name)


METRICS: tuple[Metric, ...] = (
    Metric("f1_micro", lambda w: _f1(**w.pooled), headline=True),
    Metric("f1_macro", lambda w: w.label_mean(_f1(**w.per_label)), headline=True),
    Metric("precision_micro", lambda w: _ratio(w.pooled["tp"], w.pooled["tp"] + w.pooled["fp"])),
    Metric("recall_micro", lambda w: _ratio(w.pooled["tp"], w.pooled["tp"] + w.pooled["fn"])),
    Metric("subset_accuracy", _subset_accuracy, headline=True),
    Metric("sample_accuracy", _sample_accuracy),
    Metric("hamming_loss", _hamming_loss, lower_is_better=True, headline=True),
    _caption("caption_cosine"),
    _caption("caption_bertscore"),
    Metric(
        "precision_macro",
        lambda w: w.label_mean(_ratio(w.per_label["tp"], w.per_label["tp"] + w.per_label["fp"])),
        resampled=False,
    ),
    Metric(
        "recall_macro",
        lambda w: w.label_mean(_ratio(w.per_label["tp"], w.per_label["tp"] + w.per_label["fn"])),
        resampled=False,
    ),
)
BY_NAME = {m.name: m for m in METRICS}
NAMES = tuple(BY_NAME)
LABEL_METRICS = tuple(m.name for m in METRICS if m.per_image is None)
RESAMPLED = tuple(m.name for m in METRICS if m.resampled)
HEADLINE = tuple(m.name for m in METRICS if m.headline)


def interval_columns(name: str) -> tuple[str, str]:
    return f"{name}_ci_low", f"{name}_ci_high"


def column_bounds() -> dict[str, tuple[float, float]]:
    """Every column named after a metric or its interval, with the range its values must lie in."""
    out = {}
    for m in METRICS:
        out |= dict.fromkeys((m.name, *interval_columns(m.name)), m.bounds)
    return out


def scores(outcomes: Outcomes, weights: np.ndarray, names=RESAMPLED) -> dict[str, np.ndarray]:
    """Each named metric under each row of image weights: (rows,) per metric."""
    w = Weighted(outcomes, weights)
    return {name: BY_NAME[name].statistic(w) for name in names}


def point_estimates(outcomes: Outcomes, names=NAMES) -> dict[str, float | None]:
    """Every image weighted 1; None where there is nothing to score (no image, no caption score)."""
    if not len(outcomes):
        return dict.fromkeys(names)
    return {k: _finite(v[0]) for k, v in scores(outcomes, np.ones((1, len(outcomes))), names).items()}


def _finite(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
