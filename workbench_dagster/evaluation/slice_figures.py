"""Pictures of slices and prompt variants for the asset metadata: where a person would rather look.

One chart per attribute: a bar per value with its micro F1 and 95% interval, the gap's two ends
coloured, and values too small to rate drawn as their count alone, so a missing bar is never read as
a zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOW, HIGH, OTHER = "#c0392b", "#2471a3", "#95a5a6"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gap_title(rows: pd.DataFrame) -> str:
    """`attribute: gap 0.21 (night < day), p_adj 0.012, significant`, or why there is no test."""
    first = rows.iloc[0]
    if pd.isna(first["attribute_gap"]):
        return f"{first['attribute']}: fewer than two values with {first['min_slice_images']}+ images, not tested"
    low = rows.loc[rows["gap_role"] == "low", "value"].iloc[0]
    high = rows.loc[rows["gap_role"] == "high", "value"].iloc[0]
    verdict = "significant" if bool(first["gap_significant"]) else "not significant"
    return (
        f"{first['attribute']}: gap {first['attribute_gap']:.2f} ({low} < {high}), "
        f"p_adj {first['gap_p_adjusted']:.3g} ({first['correction']}), {verdict}"
    )


def gap_chart(rows: pd.DataFrame, title: str):
    """rows: slice_scores rows of one attribute (one scope). Bars: micro F1 with interval per value."""
    plt = _plt()
    rows = rows.sort_values("value")
    fig, ax = plt.subplots(figsize=(5.5, 0.32 * max(len(rows), 3) + 1.0))
    y = np.arange(len(rows))
    for k, row in enumerate(rows.itertuples(index=False)):
        label = f"{str(row.value)[:28]} (n={row.n_images})"
        if not row.rated:
            ax.text(0.01, k, f"{row.n_images} images: too few to rate", va="center", fontsize=7, color=OTHER)
        else:
            colour = {"low": LOW, "high": HIGH}.get(row.gap_role, OTHER)
            error = [[row.f1_micro - row.f1_micro_ci_low], [row.f1_micro_ci_high - row.f1_micro]]
            ax.barh(k, row.f1_micro, color=colour, xerr=error, capsize=2, error_kw={"lw": 0.8})
        ax.text(-0.02, k, label, va="center", ha="right", fontsize=7)
    ax.set_yticks(y, [""] * len(rows))
    ax.set_xlim(0, 1)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # every row in view, first at the top, bars or not
    ax.set_xlabel("micro F1 (95% bootstrap interval)", fontsize=8)
    ax.set_title(title, fontsize=8)
    return fig


def variant_chart(table: pd.DataFrame, title: str):
    """prompt_sensitivity rows of one model: micro F1 with interval per variant."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.0, 0.35 * max(len(table), 2) + 1.0))
    for k, row in enumerate(table.itertuples(index=False)):
        if row.f1_micro is None or pd.isna(row.f1_micro):
            continue
        error = [[row.f1_micro - row.f1_micro_ci_low], [row.f1_micro_ci_high - row.f1_micro]]
        ax.barh(k, row.f1_micro, color=HIGH if row.is_best else OTHER, xerr=error, capsize=2)
    names = [
        f"{r.prompt_variant} (threshold {r.threshold:g})"
        if r.varied == "threshold" and pd.notna(r.threshold)
        else f"{r.prompt_variant} ({r.language})"
        if isinstance(r.language, str)
        else str(r.prompt_variant)
        for r in table.itertuples(index=False)
    ]
    ax.set_yticks(range(len(table)), names, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlabel("micro F1 (95% bootstrap interval)", fontsize=8)
    ax.set_title(title, fontsize=8)
    return fig
