"""Lettering for the procedural painter: a font with accents, and text fitted into a box.

Slogans must stay legible at any image size, so text is set as large as its box allows,
broken over lines where that makes it larger.
"""

from __future__ import annotations

import importlib.util
import itertools
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import ImageDraw, ImageFont

Box = tuple[float, float, float, float]


def _matplotlib_font() -> str | None:
    """DejaVu Sans Bold ships with matplotlib, a declared dependency; Pillow's default font lacks accents."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
    return str(path) if path.is_file() else None


@lru_cache(maxsize=256)
def _font(size: int) -> tuple[ImageFont.ImageFont | ImageFont.FreeTypeFont, bool]:
    """The font and whether text must be folded to ASCII because the font has no accented glyphs."""
    path = _matplotlib_font()
    if path:
        try:
            return ImageFont.truetype(path, size), False
        except (OSError, ImportError):
            pass
    try:
        return ImageFont.load_default(size=size), True
    except (TypeError, ImportError, OSError):  # Pillow < 10.1, or no FreeType: fixed-size bitmap font
        return ImageFont.load_default(), True


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("¡", "").replace("¿", ""))
    return folded.encode("ascii", "ignore").decode()


def _splits(words: list[str], lines: int) -> list[list[str]]:
    """Every way to break the words into that many lines, in order."""
    if lines > len(words):
        return []
    return [
        [" ".join(words[a:b]) for a, b in zip((0, *cuts), (*cuts, len(words)))]
        for cuts in itertools.combinations(range(1, len(words)), lines - 1)
    ]


def _fit(draw: ImageDraw.ImageDraw, text: str, width: float, height: float, max_lines: int):
    """The largest font size, and the line breaks, at which the text fits the box."""
    size = max(6, int(height))
    while True:
        font, fold = _font(size)
        words = (_ascii(text) if fold else text).split() or [""]
        _, top, _, bottom = draw.textbbox((0, 0), "AHgy" if fold else "ÁHgy", font=font)
        line_h = bottom - top
        best = None
        for n in range(1, max_lines + 1):
            if n * line_h * 1.12 > height:
                break
            for lines in _splits(words, n):
                widest = max(draw.textlength(line, font=font) for line in lines)
                if widest <= width and (best is None or widest < best[0]):
                    best = (widest, lines)
            if best:
                return font, best[1], line_h
        if size <= 6 or not isinstance(font, ImageFont.FreeTypeFont):
            return font, [" ".join(words)], line_h
        size = max(6, int(size * 0.88))


def draw_text(draw: ImageDraw.ImageDraw, text: str, box: Box, fill, max_lines: int = 3) -> None:
    """Centre the text in the box, as large as it fits."""
    x0, y0, x1, y1 = box
    font, lines, line_h = _fit(draw, text, x1 - x0, y1 - y0, max_lines)
    step = line_h * 1.12
    top = (y0 + y1) / 2 - step * len(lines) / 2
    ref = draw.textbbox((0, 0), "AH", font=font)[1]  # glyphs start below the anchor by this much
    for i, line in enumerate(lines):
        left, _, right, _ = draw.textbbox((0, 0), line, font=font)
        x = (x0 + x1) / 2 - (right - left) / 2 - left
        draw.text((x, top + i * step - ref + (step - line_h) / 2), line, font=font, fill=fill)
