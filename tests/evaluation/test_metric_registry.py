"""The metric registry: its point estimates are scikit-learn's to the bit, and every place that lists
metrics (columns, intervals, table rules, the leaderboard) follows it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlglot
from sklearn.metrics import accuracy_score, hamming_loss, jaccard_score, precision_recall_fscore_support

from workbench_dagster.evaluation.bootstrap import bootstrap_intervals
from workbench_dagster.evaluation.metric_registry import (
    HEADLINE,
    LABEL_METRICS,
    METRICS,
    NAMES,
    RESAMPLED,
    Outcomes,
    interval_columns,
    point_estimates,
    scores,
)
from workbench_dagster.evaluation.scores import EVAL_COLUMNS, metric_intervals

LEADERBOARD = Path(__file__).resolve().parents[2] / "dbt_like_sql" / "model_leaderboard.sql"


def _sklearn(t: np.ndarray, p: np.ndarray) -> dict:
    out = {
        "subset_accuracy": accuracy_score(t, p),
        "sample_accuracy": jaccard_score(t, p, average="samples", zero_division=1),
        "hamming_loss": hamming_loss(t, p),
    }
    for average in ("micro", "macro"):
        precision, recall, f1, _ = precision_recall_fscore_support(t, p, average=average, zero_division=0)
        out |= {f"precision_{average}": precision, f"recall_{average}": recall, f"f1_{average}": f1}
    return {k: float(v) for k, v in out.items()}


def test_point_estimates_are_scikit_learns_to_the_bit():
    """Unit weights must give the numbers eval_scores always had: exact equality, not approx."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        n, n_labels = int(rng.integers(1, 300)), int(rng.integers(2, 20))
        t = rng.random((n, n_labels)) < rng.random()
        p = t ^ (rng.random((n, n_labels)) < rng.random() * 0.5)
        cosine = np.where(rng.random(n) < 0.1, np.nan, rng.random(n))
        ours = point_estimates(Outcomes(t, p, {"caption_cosine": cosine}))
        oracle = _sklearn(t.astype(int), p.astype(int))
        assert set(oracle) <= set(LABEL_METRICS)
        assert {k: ours[k] for k in oracle} == oracle
        if (~np.isnan(cosine)).any():
            assert ours["caption_cosine"] == float(np.mean(cosine[~np.isnan(cosine)]))


def test_every_metric_is_declared_once_with_a_direction_and_a_range():
    assert len(NAMES) == len(set(NAMES)) == len(METRICS)
    assert set(HEADLINE) <= set(RESAMPLED) <= set(NAMES)
    assert {m.name for m in METRICS if m.lower_is_better} == {"hamming_loss"}
    for metric in METRICS:
        low, high = metric.bounds
        assert low < high, metric.name
        if metric.per_image:
            assert metric.name not in LABEL_METRICS


def test_a_caption_metric_without_scores_is_none_not_zero():
    t = np.array([[True, False], [False, True]])
    estimates = point_estimates(Outcomes(t, t))
    assert estimates["caption_cosine"] is None and estimates["caption_bertscore"] is None
    assert estimates["f1_micro"] == 1.0
    assert point_estimates(Outcomes(np.zeros((0, 2)), np.zeros((0, 2)))) == dict.fromkeys(NAMES)


def test_estimate_and_interval_come_from_the_same_statistic():
    rng = np.random.default_rng(3)
    t = rng.random((60, 4)) < 0.4
    p = t ^ (rng.random((60, 4)) < 0.2)
    outcomes = Outcomes(t, p, {"caption_cosine": rng.random(60), "caption_bertscore": rng.random(60)})
    intervals = bootstrap_intervals(outcomes, n_boot=200, seed=1)
    assert set(intervals) == set(RESAMPLED)
    unit = scores(outcomes, np.ones((1, 60)))
    for name in RESAMPLED:
        assert intervals[name]["estimate"] == float(unit[name][0]), name
        assert intervals[name]["ci_low"] <= intervals[name]["estimate"] <= intervals[name]["ci_high"], name


def test_columns_and_intervals_follow_the_registry():
    assert set(NAMES) <= set(EVAL_COLUMNS)
    for name in HEADLINE:
        assert set(interval_columns(name)) <= set(EVAL_COLUMNS), name
    import pandas as pd

    images = pd.DataFrame(
        {
            "model": "m",
            "batch": "b",
            "image_id": ["i0", "i1"],
            "is_training_batch": False,
            "reference_labels": [["a"], ["b"]],
            "labels": [["a"], []],
            "caption_cosine": [0.5, 0.7],
            "caption_bertscore": [0.6, np.nan],
        }
    )
    table = metric_intervals("m", images, ["a", "b"], n_boot=50).set_index("metric")
    assert list(table.index) == list(RESAMPLED)
    assert table.loc["caption_bertscore", "estimate"] == pytest.approx(0.6)


def test_table_rules_range_every_metric_column():
    from workbench_dagster.warehouse.table_rules import metric_ranges

    ranges = metric_ranges(EVAL_COLUMNS)
    for metric in METRICS:
        columns = [metric.name, *(interval_columns(metric.name) if metric.headline else ())]
        assert all(ranges[c] == metric.bounds for c in columns), metric.name


def test_leaderboard_names_every_headline_metric():
    statement = sqlglot.parse_one(LEADERBOARD.read_text(encoding="utf-8"), read="duckdb")
    missing = sorted(set(HEADLINE) - set(statement.named_selects))
    assert not missing, f"{LEADERBOARD.name} has no column for {', '.join(missing)}"
