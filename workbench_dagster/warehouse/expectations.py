"""Data-quality checks with Great Expectations 1.x, called directly.

dagster-ge only supports GX below 1.0, so the Dagster checks call `validate_frame` and turn the
`ValidationReport` into an AssetCheckResult themselves.

GX takes several seconds to import cold, so it is imported on first use rather than when Dagster
loads the code location.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

SAMPLE_SIZE = 10
# BASIC carries the unexpected count and sample; SUMMARY also tallies values and costs ~40% more.
_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}

_lock = threading.Lock()  # the shared context and GX's validator are not thread-safe
_batch_definition = None


def _gx():
    import great_expectations as gx

    return gx


def _whole_dataframe():
    """Built once per process: the context is the slow part, and a whole-dataframe batch
    definition takes a different frame on every call."""
    global _batch_definition
    if _batch_definition is None:
        gx = _gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every batch it is handed, only to label it; for a frame with list columns
        # it falls back to pickling, which took more time than the checks themselves.
        pandas_execution_engine.HASH_THRESHOLD = 0
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        context = gx.get_context(
            mode="ephemeral",
            project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                progress_bars=ProgressBarsConfig(globally=False),
                analytics_enabled=False,
            ),
        )
        source = context.data_sources.add_pandas("workbench")
        _batch_definition = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")
    return _batch_definition


@dataclass
class ValidationReport:
    name: str
    success: bool
    results: list[dict] = field(default_factory=list)

    @property
    def failures(self) -> list[dict]:
        return [result for result in self.results if not result["success"]]

    def markdown(self) -> str:
        lines = [
            f"**{self.name}**: {'passed' if self.success else f'{len(self.failures)} of {len(self.results)} failed'}",
            "",
            "| expectation | column | ok | unexpected | sample |",
            "|---|---|---|---|---|",
        ]
        for result in self.results:
            mismatched = "; ".join(f"{kind}: {', '.join(cols)}" for kind, cols in result["mismatched"].items())
            sample = result["error"] or mismatched or ", ".join(str(v) for v in result["partial_unexpected_list"])
            lines.append(
                f"| {result['expectation_type']} | {result['column'] or ''} | {'yes' if result['success'] else 'NO'} "
                f"| {'' if result['unexpected_count'] is None else result['unexpected_count']} "
                f"| {_cell(sample)} |"
            )
        return "\n".join(lines)


def _cell(text: str, limit: int = 120) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _result_row(result) -> dict:
    """GX's own JSON conversion handles numpy scalars, arrays and timestamps in the sample."""
    as_json = result.to_json_dict()
    config = as_json["expectation_config"]
    details = as_json.get("result") or {}
    return {
        "expectation_type": config["type"],
        "column": config["kwargs"].get("column"),
        "success": bool(as_json["success"]),
        "unexpected_count": details.get("unexpected_count"),
        "partial_unexpected_list": list(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
        "observed_value": details.get("observed_value"),
        "mismatched": _mismatched(config["kwargs"], details),
        "error": _exception_message(as_json.get("exception_info") or {}),
    }


def _mismatched(kwargs: dict, details: dict) -> dict:
    """GX lists extra columns even when extras are allowed; only report what made the check fail."""
    mismatched = dict((details.get("details") or {}).get("mismatched") or {})
    if kwargs.get("exact_match") is False:
        mismatched.pop("unexpected", None)
    return mismatched


def _exception_message(info: dict) -> str | None:
    """GX reports one exception directly, or one per failed metric keyed by the metric's id."""
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    messages = [e.get("exception_message") for e in entries if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(m for m in messages if m)) or None


def validate_frame(df: pd.DataFrame, expectations: list, name: str) -> ValidationReport:
    gx = _gx()
    with _lock:
        batch = _whole_dataframe().get_batch(batch_parameters={"dataframe": df})
        suite = gx.ExpectationSuite(name=name, expectations=list(expectations))
        outcome = batch.validate(suite, result_format=_RESULT_FORMAT)
    results = [_result_row(result) for result in outcome.results]
    return ValidationReport(name=name, success=bool(outcome.success), results=results)


def schema_expectations(columns: Iterable[str], exact: bool = False) -> list:
    """One set-match rather than one ExpectColumnToExist per column: a fifth of the time, and the
    report still lists the missing columns. `exact` also forbids extras. GX compares names
    case-insensitively."""
    return [_gx().expectations.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=exact)]


def non_empty() -> Any:
    return _gx().expectations.ExpectTableRowCountToBeBetween(min_value=1)


def unique(column: str) -> Any:
    return _gx().expectations.ExpectColumnValuesToBeUnique(column=column)


def not_null(column: str) -> Any:
    return _gx().expectations.ExpectColumnValuesToNotBeNull(column=column)


def in_set(column: str, values: Iterable) -> Any:
    return _gx().expectations.ExpectColumnValuesToBeInSet(column=column, value_set=list(dict.fromkeys(values)))


def in_range(column: str, lo: float | None, hi: float | None) -> Any:
    """GX already skips nulls in column-map expectations: a missing score is not an out-of-range one."""
    return _gx().expectations.ExpectColumnValuesToBeBetween(column=column, min_value=lo, max_value=hi, mostly=1.0)


def explode_labels(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """List-valued columns must be one value per row before `in_set`; an empty list has no label to check.
    A missing column is left for `in_set` to report, rather than raised here."""
    if column not in df.columns:
        return df
    exploded = df.explode(column, ignore_index=True)
    return exploded[exploded[column].notna()].reset_index(drop=True)
