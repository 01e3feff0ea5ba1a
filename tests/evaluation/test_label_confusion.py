"""The label-by-label confusion matrix: counts known by construction, the mart's counting rule, its pictures."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from workbench_dagster.evaluation.label_confusion import (
    NONE,
    label_confusion_heatmap,
    label_confusion_matrix,
    label_confusion_thumbnail,
    most_confused,
)
from workbench_dagster.thumbnails import INLINE_LIMIT, inline_markdown

LABELS = ["car", "truck", "road"]


def frames(rows):
    """rows: (image_id, reference labels, predicted labels, parse_status); reference None = no reference."""
    captions = pd.DataFrame(
        {"image_id": [r[0] for r in rows], "labels": [r[2] for r in rows], "parse_status": [r[3] for r in rows]}
    )
    prompts = pd.DataFrame(
        {
            "image_id": [r[0] for r in rows],
            "reference_labels": [r[1] or [] for r in rows],
            "reference_caption": [None if r[1] is None else "a reference" for r in rows],
        }
    )
    return captions, prompts


def test_every_reference_predicted_pair_counts_once_per_image_and_failures_are_left_out():
    captions, prompts = frames(
        [
            ("i1", ["car"], ["car"], "ok"),  # a hit
            ("i2", ["car"], ["truck"], "ok"),  # car read as truck
            ("i3", ["car", "road"], ["truck", "road", "road"], "ok"),  # duplicates count once
            ("i4", ["truck"], [], "ok"),  # nothing said
            ("i5", ["car"], ["car"], "error"),  # a failure is not a prediction
            ("i6", None, ["car"], "ok"),  # no reference: not scored
        ]
    )
    counts, n_reference = label_confusion_matrix(captions, prompts, LABELS)
    assert list(counts.index) == LABELS and list(counts.columns) == [*LABELS, NONE]
    expected = pd.DataFrame([[1, 2, 1, 0], [0, 0, 0, 1], [0, 1, 1, 0]], index=counts.index, columns=counts.columns)
    pd.testing.assert_frame_equal(counts, expected)
    assert n_reference.to_dict() == {"car": 3, "truck": 1, "road": 1}
    assert np.diag(counts.to_numpy()[:, :3]).tolist() == [1, 0, 1]  # the diagonal is the hits
    assert most_confused(counts, n=3) == [("car", "truck", 2), ("car", "road", 1), ("road", "truck", 1)]


def test_a_label_outside_the_taxonomy_is_an_error_naming_the_image():
    captions, prompts = frames([("i1", ["car"], ["bus"], "ok")])
    with pytest.raises(ValueError, match=r"'i1'.*\['bus'\].*taxonomy"):
        label_confusion_matrix(captions, prompts, LABELS)


def test_the_heatmap_and_its_thumbnail_draw_and_the_thumbnail_fits_the_inline_limit():
    captions, prompts = frames([("i1", ["car"], ["car"], "ok"), ("i2", ["road"], ["truck"], "ok")])
    counts, n_reference = label_confusion_matrix(captions, prompts, LABELS)
    fig = label_confusion_heatmap(counts, n_reference, "m on b")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["car (1)", "truck (0)", "road (1)"]
    assert ax.get_xlim() == (-0.5, 3.5)  # the diagonal outlines did not widen the axes
    png = label_confusion_thumbnail(counts, n_reference, "label confusion")
    assert len(inline_markdown(png, "label confusion")) < INLINE_LIMIT
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape[:2] == (3 * 16, 4 * 16)  # 16-pixel cells: it fitted at full size
    hit, empty = image[8, 8], image[8, 24]  # car->car (share 1) and car->truck (share 0)
    assert hit.sum() < 300 and empty.tolist() == [255, 255, 255]
