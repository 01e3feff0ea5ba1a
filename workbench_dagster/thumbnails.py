"""Pictures small enough for the Dagster UI to show without a click.

Dagster 1.13's UI renders a Markdown metadata entry inline only while its text is under 1,000 characters
(`MetadataEntry.tsx`: `expandSmallValues && entry.mdStr.length < 1000`); anything longer, a full-size
figure as a data URI included, sits behind a "[Show Markdown]" button wherever it is in the list. So
each full picture gets a thumbnail drawn from the data itself, in flat blocks of a few colours, which a
PNG compresses to a few hundred bytes: the thumbnail is seen on arrival, the full picture one click away.
"""

from __future__ import annotations

import base64
import io

import numpy as np

INLINE_LIMIT = 1000  # characters of Markdown the UI still renders inline
_PREFIX = "data:image/png;base64,"


def inline_markdown(png: bytes, alt: str) -> str:
    return f"![{alt}]({_PREFIX}{base64.b64encode(png).decode()})"


def fitting_png(rgb: np.ndarray, alt: str, limit: int = INLINE_LIMIT, min_side: int = 24) -> bytes | None:
    """`rgb` (height x width x 3, uint8) as a palette PNG whose Markdown stays under `limit` characters,
    halving its resolution (nearest neighbour, so blocks stay flat) until it does; None when even a
    `min_side`-pixel picture is too detailed: the caller says so rather than showing a smear."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    while min(image.size) >= min_side:
        paletted = image.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        paletted.save(buffer, format="PNG", optimize=True)
        if len(inline_markdown(buffer.getvalue(), alt)) < limit:
            return buffer.getvalue()
        image = image.resize((max(image.width // 2, 1), max(image.height // 2, 1)), Image.Resampling.NEAREST)
    return None


def heat_blocks(shares: np.ndarray, cell: int = 16, levels: int = 6) -> np.ndarray:
    """A heatmap as flat blocks: `shares` (rows x columns in [0, 1]) in `levels` steps of blue, white
    for 0, each cell `cell` pixels wide, a one-pixel grey grid between cells."""
    import matplotlib

    steps = np.clip(np.ceil(np.nan_to_num(shares) * (levels - 1)), 0, levels - 1).astype(int)
    palette = (
        np.array([matplotlib.colormaps["Blues"](s / (levels - 1)) for s in range(levels)])[:, :3] * 255
    ).astype(np.uint8)
    palette[0] = 255
    blocks = (
        np.kron(palette[steps], np.ones((cell, cell, 1), dtype=np.uint8))
        if steps.size
        else np.full((cell, cell, 3), 255, np.uint8)
    )
    blocks[::cell, :, :] = 200
    blocks[:, ::cell, :] = 200
    return blocks


def scatter_blocks(x, y, colours, side: int = 160, dot: int | None = None) -> np.ndarray:
    """Points as `dot`-pixel squares in their RGB(A, alpha ignored) `colours` on a white `side`-pixel canvas
    in a grey frame, the coordinates scaled to fill it; later points are drawn over earlier ones. `dot`
    defaults to a size that shrinks as points grow many (3 to 10 pixels), so eight nodes still read."""
    canvas = np.full((side, side, 3), 255, dtype=np.uint8)
    canvas[[0, -1], :] = canvas[:, [0, -1]] = 200
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not len(x):
        return canvas
    dot = dot or int(np.clip(side // (3 * np.sqrt(len(x))), 3, 10))

    def span(v: np.ndarray) -> np.ndarray:
        return (v - v.min()) / (np.ptp(v) or 1.0)

    cols = np.round(span(x) * (side - dot)).astype(int)
    rows = np.round((1 - span(y)) * (side - dot)).astype(int)
    rgb = (np.asarray(colours, dtype=float)[:, :3] * 255).astype(np.uint8)
    for r, c, colour in zip(rows, cols, rgb):
        canvas[r : r + dot, c : c + dot] = colour
    return canvas
