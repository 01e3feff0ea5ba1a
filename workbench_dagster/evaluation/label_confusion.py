"""Which labels a model confuses with which, on one model x batch: reference label x predicted label counts.

The per-label TP/FN/FP/TN heatmap says *that* a label is missed; this one says *what is said instead*.
Counted like the warehouse's `label_confusion` mart (dbt_like_sql/label_confusion.sql): an image adds one
to every (reference label, predicted label) pair it holds, so the diagonal is each label's hits and the
rest of a row is what was predicted in its place or beside it; `(none)` is an image given no label at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.per_image import scored_captions
from workbench_dagster.thumbnails import INLINE_LIMIT

NONE = "(none)"


def label_confusion_matrix(
    captions: pd.DataFrame, prompts: pd.DataFrame, labels: list[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """(counts, n_reference): counts has rows of reference labels (the taxonomy, in its order) and
    columns of the taxonomy then `(none)`; n_reference is each reference label's number of images,
    what a row's rates are shares of (a row can sum past it: an image predicted two labels adds two).

    Failed captions are left out (they count as failures in the scores, not as predictions) and so
    are images without a reference. A predicted label outside the taxonomy raises: it would otherwise
    vanish from the picture while the scores count it as a false positive.
    """
    columns = [*labels, NONE]
    counts = pd.DataFrame(0, index=pd.Index(labels, name="reference_label"), columns=columns, dtype=int)
    counts.columns.name = "predicted_label"
    n_reference = pd.Series(0, index=counts.index, name="n_reference", dtype=int)
    _, scored = scored_captions(captions, prompts)
    for image_id, reference, predicted in zip(scored["image_id"], scored["reference_labels"], scored["labels"]):
        said = sorted(set(predicted)) or [NONE]
        unknown = [p for p in said if p not in counts.columns] + [r for r in set(reference) if r not in labels]
        if unknown:
            raise ValueError(
                f"label_confusion_matrix: image {image_id!r} holds labels {sorted(unknown)} outside the "
                f"scenario's taxonomy ({len(labels)} labels); check the scenario file's labels"
            )
        for r in set(reference):
            counts.loc[r, said] += 1
            n_reference[r] += 1
    return counts, n_reference


def label_confusion_heatmap(counts: pd.DataFrame, n_reference: pd.Series, title: str):
    """Reference labels down, predicted labels across, the diagonal (hits) outlined; each cell coloured
    by its share of the row label's images so rare and common labels read on one scale; counts in the
    cells, each row's number of images in its tick label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = counts.to_numpy(dtype=float)
    rows, cols = values.shape
    support = np.maximum(n_reference.reindex(counts.index).fillna(0).to_numpy(dtype=float), 1)[:, None]
    fig, ax = plt.subplots(figsize=(0.38 * max(cols, 4) + 1.6, 0.32 * max(rows, 3) + 1.4))
    ax.imshow(values / support, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(rows):
        ax.add_patch(plt.Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, lw=0.8, ec="#2a9d4b"))
    ax.set_xlim(-0.5, cols - 0.5)  # the outlines must not widen the axes
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks(range(cols), list(counts.columns), rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(rows), [f"{r} ({int(n_reference.get(r, 0))})" for r in counts.index], fontsize=7)
    ax.set_xlabel("predicted label", fontsize=8)
    ax.set_ylabel("reference label", fontsize=8)
    for (i, j), value in np.ndenumerate(values):
        if value:
            share = value / support[i, 0]
            ax.text(
                j, i, int(value), ha="center", va="center", fontsize=6, color="white" if share > 0.6 else "black"
            )
    ax.set_title(title, fontsize=9)
    return fig


def most_confused(counts: pd.DataFrame, n: int = 5) -> list[tuple[str, str, int]]:
    """The largest off-diagonal cells, `(reference, predicted, count)`, largest first, ties by name."""
    cells = [
        (r, p, int(counts.loc[r, p]))
        for r in counts.index
        for p in counts.columns
        if r != p and counts.loc[r, p] > 0
    ]
    return sorted(cells, key=lambda c: (-c[2], c[0], c[1]))[:n]


THUMBNAIL_CAPTION = "rows: reference labels; columns: predicted labels, then (none); the diagonal is the hits"


def label_confusion_thumbnail(
    counts: pd.DataFrame, n_reference: pd.Series, alt: str, limit: int = INLINE_LIMIT
) -> bytes | None:
    """The heatmap as flat blocks small enough to show inline in the UI (thumbnails.py) under `limit`
    characters of Markdown; the same shares as `label_confusion_heatmap`, without the text."""
    from workbench_dagster.thumbnails import fitting_png, heat_blocks

    support = np.maximum(n_reference.reindex(counts.index).fillna(0).to_numpy(dtype=float), 1)[:, None]
    return fitting_png(heat_blocks(counts.to_numpy(dtype=float) / support), alt, limit)
