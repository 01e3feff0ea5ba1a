"""mllm_captions' `flags` column keeps to the known caption flags (issue 13, finding 5)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import images, write_config
from workbench_dagster.captioning.rows import CAPTION_COLUMNS, failure_row
from workbench_dagster.scenario.config import load_config
from workbench_dagster.warehouse.table_rules import validate_table


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return load_config(write_config(tmp_path_factory.mktemp("rules")))


def _captions(flags: list[list[str]]) -> pd.DataFrame:
    rows = [
        {**failure_row(image, "m", "openai", "HTTP 500", False), "flags": f}
        for image, f in zip(images(len(flags)), flags)
    ]
    return pd.DataFrame(rows, columns=CAPTION_COLUMNS)


def test_known_flags_and_none_pass(config):
    passed, report, _ = validate_table(
        config, "mllm_captions", _captions([[], ["instruction_like"], ["instruction_like", "wrong_language"]])
    )
    assert passed, report


def test_an_unknown_flag_fails_and_the_report_names_it(config):
    passed, report, failures = validate_table(config, "mllm_captions", _captions([[], ["suspicious"]]))
    assert not passed
    assert "flags" in report and "suspicious" in report
    assert sum(failures.values()) == 1


def test_a_caption_table_without_flags_fails_its_schema(config):
    df = _captions([[]]).drop(columns=["flags"])
    passed, report, _ = validate_table(config, "mllm_captions", df)
    assert not passed and "flags" in report
