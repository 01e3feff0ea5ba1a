from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench_dagster.warehouse.expectations import (
    ValidationReport,
    explode_labels,
    in_range,
    in_set,
    non_empty,
    not_null,
    schema_expectations,
    unique,
    validate_frame,
)

LABELS = ["cat", "dog", "sofa"]


@pytest.fixture
def captions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image_id": ["i1", "i2", "i3"],
            "labels": [np.array(["cat", "sofa"]), np.array([], dtype=object), ["dog"]],
            "score": [0.0, None, 1.0],
        }
    )


def only_result(report: ValidationReport) -> dict:
    assert len(report.results) == 1
    return report.results[0]


def test_good_frame_passes_every_helper(captions: pd.DataFrame) -> None:
    report = validate_frame(
        captions,
        [
            *schema_expectations(["image_id", "labels", "score"], exact=True),
            non_empty(),
            unique("image_id"),
            in_range("score", 0, 1),
        ],
        "captions",
    )
    assert report.success, report.markdown()
    labels = validate_frame(explode_labels(captions, "labels"), [in_set("labels", LABELS)], "labels")
    assert labels.success


def test_duplicate_ids_fail(captions: pd.DataFrame) -> None:
    duplicated = pd.concat([captions, captions.iloc[[0]]], ignore_index=True)
    result = only_result(validate_frame(duplicated, [unique("image_id")], "dupes"))
    assert not result["success"]
    assert result["unexpected_count"] == 2 and result["partial_unexpected_list"] == ["i1", "i1"]


def test_label_outside_the_set_fails(captions: pd.DataFrame) -> None:
    captions.at[2, "labels"] = ["dog", "unicorn"]
    exploded = explode_labels(captions, "labels")
    assert exploded["labels"].tolist() == ["cat", "sofa", "dog", "unicorn"]
    result = only_result(validate_frame(exploded, [in_set("labels", LABELS)], "labels"))
    assert not result["success"] and result["partial_unexpected_list"] == ["unicorn"]


def test_score_out_of_range_fails_but_nulls_do_not(captions: pd.DataFrame) -> None:
    captions.loc[0, "score"] = 1.5
    result = only_result(validate_frame(captions, [in_range("score", 0, 1)], "scores"))
    assert not result["success"] and result["unexpected_count"] == 1
    assert result["partial_unexpected_list"] == [1.5]


def test_missing_column_fails_and_is_named(captions: pd.DataFrame) -> None:
    report = validate_frame(captions.drop(columns="score"), schema_expectations(["image_id", "score"]), "schema")
    assert not report.success
    assert report.results[0]["mismatched"] == {"missing": ["score"]}
    assert "missing: score" in report.markdown()
    assert validate_frame(captions, schema_expectations(["image_id", "labels"]), "subset").success
    extra = validate_frame(captions, schema_expectations(["image_id", "labels"], exact=True), "exact")
    assert not extra.success and extra.results[0]["mismatched"] == {"unexpected": ["score"]}


def test_check_on_a_missing_column_fails_with_the_error(captions: pd.DataFrame) -> None:
    result = only_result(validate_frame(captions, [unique("nope")], "missing"))
    assert not result["success"] and "nope" in result["error"]


def test_null_fails_not_null(captions: pd.DataFrame) -> None:
    assert validate_frame(captions, [not_null("image_id")], "ids").success
    result = only_result(validate_frame(captions, [not_null("score")], "scores"))
    assert not result["success"] and result["unexpected_count"] == 1


def test_empty_frame_fails_non_empty(captions: pd.DataFrame) -> None:
    report = validate_frame(captions.iloc[0:0], [non_empty()], "empty")
    assert not report.success


def test_report_is_json_safe_and_renders_markdown(captions: pd.DataFrame) -> None:
    frame = pd.DataFrame({"n": np.arange(30, dtype=np.int64), "when": pd.date_range("2024-01-01", periods=30)})
    report = validate_frame(frame, [in_range("n", 100, 200), unique("when"), non_empty()], "numbers")
    json.dumps(report.results)
    failed = report.results[0]
    assert failed["unexpected_count"] == 30 and len(failed["partial_unexpected_list"]) == 10
    markdown = report.markdown()
    assert "1 of 3 failed" in markdown and "expect_column_values_to_be_between" in markdown
    assert markdown.count("\n| ") == 4


def test_the_same_expectations_can_be_reused(captions: pd.DataFrame) -> None:
    checks = [unique("image_id"), non_empty()]
    assert validate_frame(captions, checks, "first").success
    assert not validate_frame(captions.iloc[0:0], checks, "second").success
    assert validate_frame(captions, checks, "third").success
