"""How far raters (models, human reviewers, or both) agree on each label, beyond chance.

Two statistics, because reviewers of an agreement table expect both:

- Fleiss' kappa needs every image rated by the same number of raters; images some rater
  skipped are left out of it (and counted in `n_items_complete`).
- Krippendorff's alpha (nominal, from the `krippendorff` package) accepts missing ratings, so
  it uses every image at least two raters saw.

Each label is a yes/no question per image. A label every rater answers the same way on every
image has no chance-corrected agreement (the expected agreement is 1): both statistics are
None there, not a misleading 1.0, and `percent_agreement` still says they agreed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGREEMENT_COLUMNS = [
    "batch",
    "comparison",
    "label",
    "raters",
    "n_raters",
    "n_items",
    "n_items_complete",
    "percent_agreement",
    "fleiss_kappa",
    "krippendorff_alpha",
]
ALL_LABELS = "(all labels)"


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """counts: (items, categories), how many raters put each item in each category.

    Every row must sum to the same number of raters (at least 2).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or len(counts) == 0:
        return None
    raters = counts.sum(axis=1)
    if not np.allclose(raters, raters[0]) or raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of raters for every item")
    m = raters[0]
    p_item = ((counts * (counts - 1)).sum(axis=1)) / (m * (m - 1))
    p_cat = counts.sum(axis=0) / counts.sum()
    p_bar, p_e = p_item.mean(), float((p_cat**2).sum())
    if np.isclose(p_e, 1.0):
        return None
    return float((p_bar - p_e) / (1 - p_e))


def krippendorff_alpha(reliability: np.ndarray) -> float | None:
    """reliability: (raters, items) with NaN for a missing rating; nominal level."""
    import krippendorff

    reliability = np.asarray(reliability, dtype=float)
    pairable = (~np.isnan(reliability)).sum(axis=0) >= 2
    values = reliability[:, pairable]
    if values.size == 0 or len(np.unique(values[~np.isnan(values)])) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement="nominal"))


def _percent_agreement(reliability: np.ndarray) -> float | None:
    """Share of images on which every rater who saw it gave the same answer."""
    seen = (~np.isnan(reliability)).sum(axis=0) >= 2
    if not seen.any():
        return None
    values = reliability[:, seen]
    same = np.nanmax(values, axis=0) == np.nanmin(values, axis=0)
    return float(same.mean())


def _stats(reliability: np.ndarray) -> dict:
    """reliability: (raters, items) of 0/1/NaN."""
    complete = ~np.isnan(reliability).any(axis=0)
    kappa = None
    if complete.sum() and len(reliability) >= 2:
        ones = reliability[:, complete].sum(axis=0)
        kappa = fleiss_kappa(np.stack([len(reliability) - ones, ones], axis=1))
    return {
        "n_items": int(((~np.isnan(reliability)).sum(axis=0) >= 2).sum()),
        "n_items_complete": int(complete.sum()),
        "percent_agreement": _percent_agreement(reliability),
        "fleiss_kappa": kappa,
        "krippendorff_alpha": krippendorff_alpha(reliability),
    }


def label_agreement(ratings: pd.DataFrame, labels: list[str], batch: str, comparison: str) -> list[dict]:
    """ratings: one row per (image_id, rater) with `labels` (a list). One row per taxonomy label, plus
    `(all labels)` treating every image-label pair as one yes/no item."""
    if ratings.empty or ratings["rater"].nunique() < 2:
        return []
    raters = sorted(ratings["rater"].unique())
    images = sorted(ratings["image_id"].unique())
    r_index, i_index = {r: k for k, r in enumerate(raters)}, {i: k for k, i in enumerate(images)}
    cube = np.full((len(raters), len(images), len(labels)), np.nan)
    known = {label: k for k, label in enumerate(labels)}
    for rater, image_id, chosen in ratings[["rater", "image_id", "labels"]].itertuples(index=False):
        row = np.zeros(len(labels))
        for label in chosen:
            if label in known:
                row[known[label]] = 1.0
        cube[r_index[rater], i_index[image_id]] = row
    rows = []
    base = {"batch": batch, "comparison": comparison, "raters": ",".join(raters), "n_raters": len(raters)}
    for k, label in enumerate(labels):
        rows.append({**base, "label": label, **_stats(cube[:, :, k])})
    rows.append({**base, "label": ALL_LABELS, **_stats(cube.reshape(len(raters), -1))})
    return rows
