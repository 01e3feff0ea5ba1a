"""MaterializeResult metadata that a person reads in the UI: counts, previews and pictures."""

import base64
import io

import dagster as dg
import pandas as pd


def preview(df: pd.DataFrame, rows: int = 8, columns: list[str] | None = None) -> dg.MetadataValue:
    shown = df[columns] if columns else df
    shown = shown.head(rows).copy()
    for column in shown.columns:
        shown[column] = shown[column].map(lambda v: (str(v)[:80] + "…") if len(str(v)) > 80 else v)
    return dg.MetadataValue.md(shown.to_markdown(index=False) if len(shown) else "_no rows_")


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def table_metadata(
    df: pd.DataFrame, columns: list[str] | None = None, pictures: dict | None = None, **extra
) -> dict:
    """Pictures first, then the row count, the preview and `extra`: the UI lists entries in this order,
    and a person opening an asset should meet its picture before its numbers."""
    return {**(pictures or {}), "dagster/row_count": len(df), "preview": preview(df, columns=columns), **extra}


def table_output(
    df: pd.DataFrame, columns: list[str] | None = None, pictures: dict | None = None, **extra
) -> dg.Output:
    """An asset's table as its output, with `table_metadata` (pictures, row count, preview, `extra`)."""
    return dg.Output(df, metadata=table_metadata(df, columns, pictures, **extra))


def inline_png_markdown(png: bytes | None, alt: str, full_entry: str, caption: str = "") -> dg.MetadataValue:
    """A thumbnail the UI shows without a click (under its 1,000-character inline limit, see
    workbench_dagster/thumbnails.py) with `caption` under it, or a note naming the entry with the full
    picture when none fitted."""
    below = f"\n\n{caption}" if caption else ""
    if png is None:
        return dg.MetadataValue.md(f"_{alt}: too detailed for an inline thumbnail; see `{full_entry}`_{below}")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()}){below}")
