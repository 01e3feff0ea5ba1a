"""The leaderboard as a person reads it at the end of `make demo`: five short columns, rounded, no NaN.

model_leaderboard has some twenty columns; printed whole it wraps, and pandas shows a missing
interval as NaN and a count as 96.0. This keeps what answers "which model is best, by how much,
at what cost"; the full table stays in the warehouse.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from workbench_dagster.warehouse.build import query

SHORT_COLUMNS = ["rank", "model", "kind", "F1 (95% CI)", "beats", "cost"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _f1(estimate, low, high) -> str:
    """Micro F1 with its bootstrap interval, two decimals; '-' for a model with no scored image."""
    if _missing(estimate):
        return "-"
    if _missing(low) or _missing(high):
        return f"{estimate:.2f}"
    return f"{estimate:.2f} [{low:.2f}, {high:.2f}]"


def _cost(value) -> str:
    """Dollars: cents for a bill, four decimals for the fractions of a cent an API batch costs."""
    if _missing(value) or value == 0:
        return "$0"
    return f"${value:.2f}" if value >= 1 else f"${value:.4f}"


def short_leaderboard(warehouse: Path) -> pd.DataFrame:
    """One row per model, best first: rank, model, kind, micro F1 with its interval over held-out
    images, the models it beats beyond chance (paired bootstrap), and the total cost of its calls.
    Every cell is a string (or an int rank), so it prints without NaN or float counts."""
    board = query(warehouse, "SELECT * FROM model_leaderboard ORDER BY rank, model")
    rows = [
        {
            "rank": int(row.rank),
            "model": row.model,
            "kind": "-" if _missing(row.model_kind) else row.model_kind,
            "F1 (95% CI)": _f1(row.f1_micro, row.f1_micro_ci_low, row.f1_micro_ci_high),
            "beats": "-" if _missing(row.significantly_beats) else row.significantly_beats,
            "cost": _cost(row.total_cost_usd),
        }
        for row in board.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=SHORT_COLUMNS)


def short_leaderboard_text(warehouse: Path) -> str:
    """short_leaderboard as aligned text, with the full table's name to look further."""
    table = short_leaderboard(warehouse)
    if table.empty:
        return "(no model scored yet)"
    return table.to_string(index=False) + "\n(full table: model_leaderboard in the warehouse)"
