"""Where a model sees differently: its scores on every slice of the images, and whether the largest gap
between the values of an attribute is more than chance.

A slice is the images sharing one value of one spec attribute (slice_attributes.py): night images,
images from the border region, flyers in Spanish. Per slice value:

- n, micro and macro F1, Hamming loss, caption-to-reference cosine and each label's recall, each with
  a seeded bootstrap 95% interval over the slice's images (the registry's statistics, bootstrap.py's
  resampling, so a slice's F1 is computed by the same code as eval_scores');
- a slice of fewer than `min_slice_images` images reports its count and no rate (NULL): a rate on
  eight images is a rumour.

Per attribute, the gap is the largest micro-F1 difference between two of its rated values (the
best minus the worst). Whether it exceeds chance is a permutation test: the attribute's values are
shuffled across the images (slice sizes kept) `n_permutations` times, and p is the share of shuffles
whose largest gap is at least the observed one, (1 + count) / (1 + n_permutations). The test of the
range, not of one chosen pair, so looking at the worst pair is paid for. The p-values of one scope's
attributes are adjusted by **Holm**'s step-down method (family-wise error at `alpha`, any
dependence between the attributes): a model audited on a dozen attributes would otherwise show a
"significant" gap on one of them by chance about half the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.bootstrap import _percentiles, bootstrap_weights, derived_seed
from workbench_dagster.evaluation.metric_registry import (
    Outcomes,
    Weighted,
    interval_columns,
    point_estimates,
    scores,
)
from workbench_dagster.evaluation.per_image import image_outcomes
from workbench_dagster.evaluation.slice_attributes import MISSING

SLICE_METRICS = ("f1_micro", "f1_macro", "hamming_loss", "caption_cosine")
GAP_METRIC = "f1_micro"
CORRECTION = "holm"
SLICE_COLUMNS = [
    "model",
    "scope",  # batch: one batch; held_out: pooled over the model's held-out batches
    "batch",  # NULL for held_out
    "is_training_batch",
    "n_batches",
    "attribute",
    "value",
    "n_images",
    "rated",  # n_images >= min_slice_images: only then are rates reported
    *[c for m in SLICE_METRICS for c in (m, *interval_columns(m))],
    "labels",  # the taxonomy, in order, for the four lists after it
    "label_recall",
    "label_recall_ci_low",
    "label_recall_ci_high",
    "gap_role",  # high / low: the two values whose difference is the attribute's gap
    "attribute_gap",
    "gap_p_value",
    "gap_p_adjusted",
    "gap_significant",
    "n_values_rated",
    "n_attributes_tested",
    "correction",
    "min_slice_images",
    "n_permutations",
    "n_boot",
    "seed",
]


@dataclass(frozen=True)
class SliceSettings:
    min_slice_images: int = 20
    alpha: float = 0.05
    n_permutations: int = 1000
    n_boot: int = 1000
    seed: int = 0

    @classmethod
    def of(cls, audit, seed: int) -> SliceSettings:
        return cls(audit.min_slice_images, audit.alpha, audit.n_permutations, audit.n_boot, seed)


@dataclass(frozen=True)
class SliceScope:
    """Whose images these are: one model on one batch, or pooled over its held-out batches."""

    model: str
    scope: str
    batch: str | None
    is_training_batch: bool
    n_batches: int


def _subset(outcomes: Outcomes, rows: np.ndarray) -> Outcomes:
    return Outcomes(
        outcomes.truth[rows], outcomes.predicted[rows], {k: v[rows] for k, v in outcomes.per_image.items()}
    )


def _label_recall(outcomes: Outcomes, weights: np.ndarray) -> np.ndarray:
    """(rows, L) recall per label under each weight row; NaN where the label has no weighted image."""
    cells = Weighted(outcomes, weights).per_label
    support = cells["tp"] + cells["fn"]
    return np.where(support > 0, cells["tp"] / np.where(support > 0, support, 1), np.nan)


def _none(value) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def _rates(outcomes: Outcomes, seed: int, n_boot: int) -> dict:
    """A rated slice's estimates, intervals and per-label recalls."""
    point = point_estimates(outcomes, SLICE_METRICS)
    weights = bootstrap_weights(len(outcomes), n_boot, seed)
    resampled = scores(outcomes, weights, SLICE_METRICS)
    out = {}
    for m in SLICE_METRICS:
        low, high = _percentiles(resampled[m])
        out |= {m: point[m], **dict(zip(interval_columns(m), (low, high)))}
    recall = _label_recall(outcomes, np.ones((1, len(outcomes))))[0]
    boot = _label_recall(outcomes, weights)
    bounds = [_percentiles(boot[:, k]) if not np.isnan(recall[k]) else (None, None) for k in range(len(recall))]
    return {
        **out,
        "label_recall": [_none(r) for r in recall],
        "label_recall_ci_low": [b[0] for b in bounds],
        "label_recall_ci_high": [b[1] for b in bounds],
    }


def _per_image_counts(outcomes: Outcomes) -> np.ndarray:
    """(n, 3): each image's true positives, false positives and false negatives over all labels."""
    t, p = outcomes.truth, outcomes.predicted
    return np.stack([(t & p).sum(axis=1), (~t & p).sum(axis=1), (t & ~p).sum(axis=1)], axis=1).astype(float)


def _f1_of_groups(counts: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(rows, groups) micro F1 of each group, for each row of group codes (rows, n)."""
    rows = codes.shape[0]
    flat = (codes + n_groups * np.arange(rows)[:, None]).ravel()
    tp, fp, fn = (
        np.bincount(flat, np.tile(counts[:, j], rows), rows * n_groups).reshape(rows, n_groups) for j in range(3)
    )
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), 0.0)


def gap_test(outcomes: Outcomes, values: np.ndarray, rated: list[str], n_permutations: int, seed: int) -> dict:
    """The largest micro-F1 gap between two rated values, and its permutation p-value.

    Slice sizes stay as they are under every shuffle, so the rated values stay the same ones."""
    groups = sorted(set(values))
    codes = np.array([groups.index(v) for v in values])
    wanted = np.array([groups.index(v) for v in rated])
    counts = _per_image_counts(outcomes)
    observed = _f1_of_groups(counts, codes[None, :], len(groups))[0, wanted]
    high, low = int(np.argmax(observed)), int(np.argmin(observed))
    if high == low:  # every rated value scores the same: the gap is 0, still between two values
        low = 1 if high == 0 else 0
    gap = float(observed[high] - observed[low])
    rng = np.random.default_rng(seed)
    at_least, done = 0, 0
    while done < n_permutations:  # in blocks, so 10^4 images x 10^3 shuffles stays small in memory
        block = min(200, n_permutations - done)
        shuffled = rng.permuted(np.tile(codes, (block, 1)), axis=1)
        f1 = _f1_of_groups(counts, shuffled, len(groups))[:, wanted]
        at_least += int((f1.max(axis=1) - f1.min(axis=1) >= gap - 1e-12).sum())
        done += block
    return {"high": rated[high], "low": rated[low], "gap": gap, "p_value": (1 + at_least) / (1 + n_permutations)}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (each at most 1, never below its raw p)."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted, running = np.empty(m), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return [float(a) for a in adjusted]


def _attribute_rows(
    scope: SliceScope, outcomes: Outcomes, values: np.ndarray, attribute: str, settings: SliceSettings
) -> tuple[list[dict], dict | None]:
    """One row per value of one attribute (rates only where rated), and its gap test if two are rated."""
    rows, rated = [], []
    for value in sorted(set(values)):
        members = np.flatnonzero(values == value)
        row = {"attribute": attribute, "value": value, "n_images": len(members)}
        if len(members) >= settings.min_slice_images:
            seed = derived_seed(settings.seed, "slice", scope.model, scope.batch or scope.scope, attribute, value)
            row |= _rates(_subset(outcomes, members), seed, settings.n_boot)
            if value != MISSING:  # images without the field (a flyer has no skin tone): a slice, not a value
                rated.append(value)
        rows.append(row)
    test = None
    if len(rated) >= 2:
        seed = derived_seed(settings.seed, "gap", scope.model, scope.batch or scope.scope, attribute)
        test = gap_test(outcomes, values, rated, settings.n_permutations, seed)
    for row in rows:
        row["n_values_rated"] = len(rated)
        if test is not None:
            row["attribute_gap"], row["gap_p_value"] = test["gap"], test["p_value"]
            row["gap_role"] = (
                "high" if row["value"] == test["high"] else "low" if row["value"] == test["low"] else None
            )
    return rows, test


def slice_scores(
    scope: SliceScope, images: pd.DataFrame, attributes: pd.DataFrame, labels: list[str], settings: SliceSettings
) -> pd.DataFrame:
    """Every slice of `images` (image_scores rows of one scope) by every attribute column of `attributes`
    (slice_attributes.attribute_frame), with the gap tests Holm-adjusted across the scope's attributes.

    An image with no spec (a landing image) has no reference and is not among `images`."""
    if images.empty or attributes.shape[1] < 2:  # nothing scored (a landing batch), or no spec to slice by
        return pd.DataFrame(columns=SLICE_COLUMNS)
    joined = images.merge(attributes, on="image_id", how="inner").sort_values(["batch", "image_id"], kind="stable")
    outcomes = image_outcomes(joined.reset_index(drop=True), labels)
    rows, tested = [], []
    for attribute in [c for c in attributes.columns if c != "image_id"]:
        attribute_rows, test = _attribute_rows(scope, outcomes, joined[attribute].to_numpy(), attribute, settings)
        rows += attribute_rows
        if test is not None:
            tested.append(attribute)
    p_of = {r["attribute"]: r["gap_p_value"] for r in rows if r.get("gap_p_value") is not None}
    adjusted = dict(zip(tested, holm([p_of[a] for a in tested]))) if tested else {}
    base = {
        "model": scope.model,
        "scope": scope.scope,
        "batch": scope.batch,
        "is_training_batch": scope.is_training_batch,
        "n_batches": scope.n_batches,
        "labels": list(labels),
        "n_attributes_tested": len(tested),
        "correction": CORRECTION,
        "min_slice_images": settings.min_slice_images,
        "n_permutations": settings.n_permutations,
        "n_boot": settings.n_boot,
        "seed": settings.seed,
    }
    for row in rows:
        row |= base
        row["rated"] = row["n_images"] >= settings.min_slice_images
        if row["attribute"] in adjusted:
            row["gap_p_adjusted"] = adjusted[row["attribute"]]
            row["gap_significant"] = adjusted[row["attribute"]] <= settings.alpha
    return pd.DataFrame(rows, columns=SLICE_COLUMNS)


def held_out(images: pd.DataFrame, excluded: set[str] = frozenset()) -> pd.DataFrame:
    """The rows of batches the model did not train on, less `excluded` batches (e.g. counterfactual
    redraws of held-out specs, which would count an image twice)."""
    if images.empty:
        return images
    keep = ~images["is_training_batch"].fillna(False).astype(bool) & ~images["batch"].isin(excluded)
    return images[keep]
