"""The leaderboard as a person reads it at the end of `make demo`: six short columns, rounded, no NaN.

model_leaderboard has some twenty columns; printed whole it wraps, and pandas shows a missing
interval as NaN and a count as 96.0. This keeps what answers "which model is best, by how much,
at what cost"; the full table stays in the warehouse.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from workbench_dagster.warehouse.build import query

SHORT_COLUMNS = ["rank", "model", "kind", "F1 (95% CI)", "beats", "over prompts", "cost"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _f1(estimate, low, high) -> str:
    """Micro F1 with its bootstrap interval, two decimals; '-' for a model with no scored image."""
    if _missing(estimate):
        return "-"
    if _missing(low) or _missing(high):
        return f"{estimate:.2f}"
    return f"{estimate:.2f} [{low:.2f}, {high:.2f}]"


def _over_prompts(n_variants, mean, best, best_variant, vary) -> str:
    """`avg 0.71, best 0.74 (eager)`: micro F1 averaged over the model's prompt variants and its best one
    (`t:` before the name where the baseline's threshold, not a wording, was varied); '-' with one variant."""
    if _missing(n_variants) or n_variants < 2 or _missing(mean) or _missing(best):
        return "-"
    name = str(best_variant)[:12]
    return f"avg {mean:.2f}, best {best:.2f} ({'t:' if vary == 'threshold' else ''}{name})"


def _cost(value) -> str:
    """Dollars: cents for a bill, four decimals for the fractions of a cent an API batch costs."""
    if _missing(value) or value == 0:
        return "$0"
    return f"${value:.2f}" if value >= 1 else f"${value:.4f}"


def short_leaderboard(warehouse: Path) -> pd.DataFrame:
    """One row per model, best first: rank, model, kind, micro F1 with its interval over held-out
    images, the models it beats beyond chance (paired bootstrap), its F1 averaged over its prompt
    variants next to its best variant's, and the total cost of its calls.
    Every cell is a string (or an int rank), so it prints without NaN or float counts."""
    board = query(warehouse, "SELECT * FROM model_leaderboard ORDER BY rank, model")
    rows = [
        {
            "rank": int(row.rank),
            "model": row.model,
            "kind": "-" if _missing(row.model_kind) else row.model_kind,
            "F1 (95% CI)": _f1(row.f1_micro, row.f1_micro_ci_low, row.f1_micro_ci_high),
            "beats": "-" if _missing(row.significantly_beats) else row.significantly_beats,
            "over prompts": _over_prompts(
                row.n_prompt_variants,
                row.f1_micro_variant_mean,
                row.f1_micro_best_variant,
                row.best_variant,
                row.variants_vary,
            ),
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
