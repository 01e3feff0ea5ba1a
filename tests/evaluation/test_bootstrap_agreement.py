"""Bootstrap intervals, paired comparisons and agreement statistics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import HAND_LABELS as LABELS
from tests.helpers import HAND_PRED as Y_PRED
from tests.helpers import HAND_TRUE as Y_TRUE
from workbench_dagster.evaluation.agreement import ALL_LABELS, fleiss_kappa, krippendorff_alpha, label_agreement
from workbench_dagster.evaluation.bootstrap import (
    binarized,
    bootstrap_intervals,
    bootstrap_weights,
    paired_bootstrap,
)
from workbench_dagster.evaluation.metric_registry import Outcomes, scores
from workbench_dagster.evaluation.scores import metric_intervals, model_comparisons


def test_point_estimate_by_hand():
    expected = {
        "f1_micro": 4 / 9,
        "precision_micro": 2 / 5,
        "recall_micro": 1 / 2,
        "f1_macro": (2 / 3 + 0 + 2 / 3) / 3,
        "subset_accuracy": 1 / 4,
        "sample_accuracy": 1 / 2,
        "hamming_loss": 5 / 12,
        "caption_cosine": 1.5 / 3,
    }
    outcomes = Outcomes(*binarized(Y_TRUE, Y_PRED, LABELS), {"caption_cosine": np.array([0.5, 1.0, np.nan, 0.0])})
    point = {k: v[0] for k, v in scores(outcomes, np.ones((1, 4)), expected).items()}
    assert point == pytest.approx(expected)


def test_weights_count_images_twice():
    """Image weights (2, 0, 0, 1) are the data set [img0, img0, img3]."""
    weighted = scores(Outcomes(*binarized(Y_TRUE, Y_PRED, LABELS)), np.array([[2.0, 0, 0, 1]]))
    # img0: tp1 fn1; img3: fp2 fn1 -> tp 2, fp 2, fn 3
    assert weighted["f1_micro"][0] == pytest.approx(4 / 9)
    assert weighted["precision_micro"][0] == pytest.approx(2 / 4)
    assert weighted["hamming_loss"][0] == pytest.approx((1 + 1 + 3) / 9)


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    t = rng.random((80, 4)) < 0.4
    p = t ^ (rng.random((80, 4)) < 0.15)
    outcomes = Outcomes(t, p)
    first, again = bootstrap_intervals(outcomes, seed=5), bootstrap_intervals(outcomes, seed=5)
    other = bootstrap_intervals(outcomes, seed=6)
    assert first == again
    assert first["f1_micro"] != other["f1_micro"]
    for metric in ("f1_micro", "f1_macro", "subset_accuracy", "hamming_loss"):
        assert first[metric]["ci_low"] <= first[metric]["estimate"] <= first[metric]["ci_high"], metric
        assert first[metric]["ci_high"] - first[metric]["ci_low"] > 0.01, metric
    assert first["caption_cosine"]["estimate"] is None and first["caption_cosine"]["ci_low"] is None
    assert bootstrap_weights(10, 50, 1).sum(axis=1).tolist() == [10.0] * 50


def test_interval_covers_a_known_rate_about_95_percent_of_the_time():
    """Exact match of one label predicted as always-on is a Bernoulli(0.3) per image."""
    rng = np.random.default_rng(2026)
    truth, n, reps = 0.3, 120, 200
    covered = 0
    for rep in range(reps):
        t = rng.random((n, 1)) < truth
        p = np.ones((n, 1), dtype=bool)
        ci = bootstrap_intervals(Outcomes(t, p), n_boot=400, seed=rep)["subset_accuracy"]
        covered += ci["ci_low"] <= truth <= ci["ci_high"]
    assert 0.88 <= covered / reps <= 0.99


def test_paired_bootstrap_separates_a_real_difference_from_a_tie():
    rng = np.random.default_rng(1)
    t = rng.random((100, 3)) < 0.5
    noisy = t ^ (rng.random((100, 3)) < 0.3)
    result = paired_bootstrap(Outcomes(t, t), Outcomes(t, noisy), seed=3)
    assert result["f1_micro"]["verdict"] == "A better" and result["f1_micro"]["ci_low"] > 0
    assert result["hamming_loss"]["verdict"] == "A better" and result["hamming_loss"]["ci_high"] < 0
    tie = paired_bootstrap(Outcomes(t, noisy), Outcomes(t, noisy.copy()), seed=3)
    assert tie["f1_micro"]["difference"] == 0 and tie["f1_micro"]["verdict"] == "no clear difference"


def _image_rows(model, labels_per_image, batch="b1", training=False):
    return [
        {
            "model": model,
            "batch": batch,
            "image_id": f"{batch}-{k}",
            "is_training_batch": training,
            "reference_labels": ["a"] if k % 2 else ["b"],
            "labels": labels,
            "caption_cosine": 0.5,
        }
        for k, labels in enumerate(labels_per_image)
    ]


def test_comparisons_mirror_and_training_batches_are_left_out():
    n = 60
    good = _image_rows("good", [["a"] if k % 2 else ["b"] for k in range(n)])
    bad = _image_rows("bad", [["b"] if k % 3 else ["a"] for k in range(n)])
    train = _image_rows("good", [["c"]] * 10, batch="train", training=True)
    images = pd.DataFrame(good + bad + train)
    ab = model_comparisons("good", images, LABELS, seed=1)
    ba = model_comparisons("bad", images, LABELS, seed=1)
    f1_ab = ab[ab["metric"] == "f1_micro"].iloc[0]
    f1_ba = ba[ba["metric"] == "f1_micro"].iloc[0]
    assert f1_ab["verdict"] == "better" and f1_ba["verdict"] == "worse"
    assert f1_ab["difference"] == pytest.approx(-f1_ba["difference"])
    assert f1_ab["ci_low"] == pytest.approx(-f1_ba["ci_high"]) and f1_ab["n_images"] == n
    intervals = metric_intervals("good", images, LABELS, seed=1).set_index("metric")
    assert intervals.loc["f1_micro", "estimate"] == 1.0 and intervals.loc["f1_micro", "n_images"] == n
    assert intervals.loc["f1_micro", "n_batches"] == 1


def test_fleiss_kappa_textbook_example():
    """Fleiss (1971) as reproduced on Wikipedia: 10 items, 14 raters, 5 categories, kappa 0.210."""
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(table) == pytest.approx(0.20993, abs=1e-5)
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(np.array([[1, 1], [2, 1]]))


def test_krippendorff_alpha_paper_example():
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability': 4 observers, 12 units, nominal 0.743."""
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


def test_label_agreement_binary_by_hand():
    """Two raters on 4 images, label a: [1,1,0,0] vs [1,0,0,0].

    Fleiss: P_bar 3/4, P_e (5/8)^2 + (3/8)^2 = 34/64 -> 7/15. Krippendorff: D_o 2/8, D_e 30/56 -> 8/15.
    Label c is never chosen: no chance-corrected agreement, but full percent agreement.
    """
    ratings = pd.DataFrame(
        {
            "image_id": ["i1", "i2", "i3", "i4"] * 2,
            "rater": ["m1"] * 4 + ["m2"] * 4,
            "labels": [["a"], ["a", "b"], [], ["b"], ["a"], [], [], ["b"]],
        }
    )
    rows = {r["label"]: r for r in label_agreement(ratings, LABELS, "b1", "models")}
    assert set(rows) == {"a", "b", "c", ALL_LABELS}
    assert rows["a"]["fleiss_kappa"] == pytest.approx(7 / 15)
    assert rows["a"]["krippendorff_alpha"] == pytest.approx(8 / 15)
    assert rows["a"]["percent_agreement"] == pytest.approx(3 / 4)
    assert rows["c"]["fleiss_kappa"] is None and rows["c"]["krippendorff_alpha"] is None
    assert rows["c"]["percent_agreement"] == 1.0
    assert rows["a"]["raters"] == "m1,m2" and rows["a"]["n_items"] == 4


def test_missing_ratings_drop_out_of_fleiss_but_not_krippendorff():
    ratings = pd.DataFrame(
        {
            "image_id": ["i1", "i2", "i3", "i4", "i1", "i2", "i3", "i1", "i2", "i3", "i4"],
            "rater": ["m1"] * 4 + ["m2"] * 3 + ["m3"] * 4,
            "labels": [["a"], [], ["a"], [], ["a"], [], ["a"], ["a"], [], [], []],
        }
    )
    row = next(r for r in label_agreement(ratings, LABELS, "b1", "models") if r["label"] == "a")
    assert row["n_items"] == 4 and row["n_items_complete"] == 3
    assert row["fleiss_kappa"] is not None and row["krippendorff_alpha"] is not None


def test_score_partition_image_and_per_label_tables_agree():
    from workbench_dagster.evaluation.scores import Partition, image_scores, per_label_scores, score_partition

    prompts = pd.DataFrame(
        {
            "image_id": ["i0", "i1", "i2", "i3"],
            "reference_labels": Y_TRUE,
            "reference_caption": ["a crowd at night", "a flyer", "a street", "a banner"],
        }
    )
    captions = pd.DataFrame(
        {
            "image_id": ["i0", "i1", "i2", "i3", "i4"],
            "labels": Y_PRED + [[]],
            "caption": ["a crowd at night", None, "a street", "a banner", None],
            "parse_status": ["ok", "ok", "ok", "repaired", "error"],
        }
    )
    embeddings = pd.DataFrame(
        {"image_id": ["i0", "i0"], "source": ["caption", "reference"], "vector": [[1.0, 0.0], [1.0, 0.0]]}
    )
    partition = Partition("m", "b", LABELS, is_training_batch=False)
    row = score_partition(partition, captions, prompts, embeddings, seed=3)
    assert (row["n_images"], row["n_scored"], row["n_failed"]) == (5, 4, 1)
    assert row["f1_micro"] == pytest.approx(4 / 9) and row["caption_cosine"] == pytest.approx(1.0)
    assert row["f1_micro_ci_low"] <= 4 / 9 <= row["f1_micro_ci_high"]
    assert row == score_partition(partition, captions, prompts, embeddings, seed=3)
    images = image_scores(partition, captions, prompts, embeddings).set_index("image_id")
    assert images["jaccard"].tolist() == pytest.approx([1 / 2, 1 / 2, 1.0, 0.0])
    assert images.loc["i0", "caption_bertscore"] == pytest.approx(1.0, abs=1e-5)  # identical caption
    assert np.isnan(images.loc["i1", "caption_bertscore"])  # no caption written: not scored, not zero
    assert row["caption_bertscore"] == pytest.approx(images["caption_bertscore"].mean())
    per_label = per_label_scores(partition, captions, prompts).set_index("label")
    assert per_label.loc["a", ["tp", "fp", "fn", "tn"]].tolist() == [1, 0, 1, 2]
    assert per_label.loc["b", ["tp", "fp", "fn", "tn"]].tolist() == [0, 2, 1, 1]
