import numpy as np
import pytest

from tests.helpers import HAND_LABELS as LABELS
from tests.helpers import HAND_PRED as Y_PRED
from tests.helpers import HAND_TRUE as Y_TRUE
from workbench_dagster.evaluation.metrics import (
    SCORE_KEYS,
    majority_label_predictor,
    multilabel_scores,
    per_label_table,
    rowwise_cosine,
)


def test_multilabel_scores_by_hand():
    scores = multilabel_scores(Y_TRUE, Y_PRED, LABELS)
    # Per label:  a: tp1 fp0 fn1 tn2   b: tp0 fp2 fn1 tn1   c: tp1 fp1 fn0 tn2
    expected = {
        "n": 4,
        "subset_accuracy": 1 / 4,  # only the empty/empty sample matches exactly
        "sample_accuracy": (1 / 2 + 1 / 2 + 1 + 0) / 4,  # Jaccard {a}/{a,b}, {c}/{b,c}, empty=1, {}/{a,b,c}
        "precision_micro": 2 / 5,  # tp 2, fp 3
        "recall_micro": 2 / 4,  # tp 2, fn 2
        "f1_micro": 2 * (2 / 5) * (1 / 2) / (2 / 5 + 1 / 2),  # = 4/9
        "precision_macro": (1 + 0 + 1 / 2) / 3,
        "recall_macro": (1 / 2 + 0 + 1) / 3,
        "f1_macro": (2 / 3 + 0 + 2 / 3) / 3,
        "hamming_loss": 5 / 12,  # 5 wrong cells out of 4 x 3
    }
    # Every registered label metric, and each of them worked out by hand above.
    assert scores.keys() == {"n", *SCORE_KEYS} >= expected.keys()
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value), key
        assert isinstance(scores[key], int if key == "n" else float)


def test_perfect_prediction_and_out_of_taxonomy_labels():
    scores = multilabel_scores(Y_TRUE, [s + ["not-a-label"] for s in Y_TRUE], LABELS)
    assert {k: scores[k] for k in SCORE_KEYS} == {**dict.fromkeys(SCORE_KEYS, 1.0), "hamming_loss": 0.0}


def test_empty_batch_gives_none_not_nan():
    assert multilabel_scores([], [], LABELS) == {"n": 0, **dict.fromkeys(SCORE_KEYS)}


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="4 samples"):
        multilabel_scores(Y_TRUE, Y_PRED[:2], LABELS)


def test_majority_label_predictor():
    # a in 3/4 images, b in exactly half (not more), c in 1/4
    train = [["a", "b"], ["a"], ["a", "c"], ["b"]]
    assert majority_label_predictor(train, LABELS) == ["a"]
    assert majority_label_predictor(train + [["b"]], LABELS) == ["a", "b"]  # b now 3/5
    assert majority_label_predictor([], LABELS) == []


def test_rowwise_cosine():
    a = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [3.0, 4.0]])
    b = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-4.0, 3.0]])
    np.testing.assert_allclose(rowwise_cosine(a, b), [0.0, 0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rowwise_cosine([[1.0, 1.0]], [[-1.0, -1.0]]), [-1.0])
    with pytest.raises(ValueError):
        rowwise_cosine(a, b[:2])


def test_per_label_table():
    rows = {row["label"]: row for row in per_label_table(Y_TRUE, Y_PRED, LABELS)}
    assert list(rows) == LABELS
    assert {k: rows["a"][k] for k in ("support", "tp", "fp", "fn", "tn")} == dict(
        support=2, tp=1, fp=0, fn=1, tn=2
    )
    assert {k: rows["b"][k] for k in ("support", "tp", "fp", "fn", "tn")} == dict(
        support=1, tp=0, fp=2, fn=1, tn=1
    )
    assert {k: rows["c"][k] for k in ("support", "tp", "fp", "fn", "tn")} == dict(
        support=1, tp=1, fp=1, fn=0, tn=2
    )
    assert (rows["a"]["precision"], rows["a"]["recall"]) == pytest.approx((1.0, 0.5))
    assert (rows["b"]["precision"], rows["b"]["f1"]) == (0.0, 0.0)
    assert (rows["c"]["precision"], rows["c"]["recall"], rows["c"]["f1"]) == pytest.approx((0.5, 1.0, 2 / 3))
    assert per_label_table([], [], LABELS) == []
