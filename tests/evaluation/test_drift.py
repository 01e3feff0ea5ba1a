"""Label and embedding drift between a batch and the training batch, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench_dagster.evaluation.drift import batch_drift, js_distance, label_distribution, mean_cosine_distance

LABELS = ["a", "b"]


def test_js_distance_by_hand():
    # m = (3/4, 1/4); KL(p||m) = log2(4/3); KL(q||m) = (log2(2/3) + 1) / 2; JSD = mean of the two; distance = sqrt.
    jsd = 0.5 * math.log2(4 / 3) + 0.5 * 0.5 * (math.log2(2 / 3) + 1)
    assert js_distance(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(math.sqrt(jsd))
    assert js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert js_distance(np.array([0.3, 0.7]), np.array([0.3, 0.7])) == pytest.approx(0.0, abs=1e-7)
    assert label_distribution([["a"], ["a", "b"], ["zzz"]], LABELS).tolist() == [2 / 3, 1 / 3]
    assert label_distribution([[]], LABELS) is None


def test_mean_cosine_distance_by_hand():
    assert mean_cosine_distance(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0]])) == pytest.approx(1.0)
    assert mean_cosine_distance(np.array([[1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(0.0)


def test_batch_drift_flags_only_what_moved():
    prompts = pd.DataFrame(
        {
            "image_id": ["t0", "t1", "n0", "n1"],
            "batch": ["train", "train", "new", "new"],
            "reference_caption": "c",
            "reference_labels": [["a"], ["a"], ["a"], ["a"]],
        }
    )
    captions = pd.DataFrame(
        {
            "image_id": ["t0", "t1", "n0", "n1"],
            "batch": ["train", "train", "new", "new"],
            "model": "m",
            "labels": [["a"], ["a"], ["b"], ["b"]],
            "parse_status": "ok",
        }
    )
    embeddings = pd.DataFrame(
        {
            "image_id": ["t0", "n0"],
            "batch": ["train", "new"],
            "model": "m",
            "source": "caption",
            "vector": [[1.0, 0.0], [1.0, 0.01]],
        }
    )
    df = batch_drift("new", "train", prompts, captions, embeddings, LABELS).set_index(["model", "kind"])
    assert df.loc[("reference_labels", "labels"), "value"] == pytest.approx(0.0, abs=1e-7)
    assert not df.loc[("reference_labels", "labels"), "drifted"]
    assert df.loc[("m", "labels"), "value"] == pytest.approx(1.0) and df.loc[("m", "labels"), "drifted"]
    assert df.loc[("m", "embeddings"), "value"] < 1e-3 and not df.loc[("m", "embeddings"), "drifted"]
