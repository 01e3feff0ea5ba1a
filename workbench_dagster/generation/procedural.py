"""Procedural stand-in images drawn from a prompt spec.

Offline runs need images whose content is known by construction, so every reference label
is really visible. Shapes are big and colours bold because a small CNN baseline reads the
images downscaled to 64x64, where only silhouettes and colour fields survive.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import itertools
import math
import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont

RENDERER_VERSION = "procedural-v1"  # bump when a change alters pixels, so the render cache misses
SUPERSAMPLE = 2  # drawn at twice the size and downscaled: ImageDraw has no anti-aliasing
DEFAULT_SKIN_TONES = ("#f1c27d", "#e0ac69", "#c68642", "#8d5524", "#5c3a21")
CLOTHES = ("#d62828", "#f77f00", "#1d3557", "#2a9d8f", "#6a4c93", "#f1faee", "#222222", "#e9c46a", "#457b9d")
HAIR = ("#1b1b1b", "#3b2416", "#6b4226", "#a0522d", "#d8c078", "#9a9a9a")
LIGHT = (255, 214, 120)  # lamps, lit windows and flames keep their colour at night

# Flyer wording and a house style per language: the style keeps flyers of different
# languages apart even at 64x64, where their text is unreadable. Unknown languages get English.
FLYER_WORDS = {
    "en": {"call": "MARCH", "when": "SATURDAY 6PM", "demand": "WE DEMAND", "where": "IN", "motif": "stripes"},
    "es": {"call": "MARCHA", "when": "SÁBADO 18H", "demand": "EXIGIMOS", "where": "EN", "motif": "circle"},
}

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]


# --- fonts and text -------------------------------------------------------------------------


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


def _text(s: _Scene, text: str, box: Box, fill, max_lines: int = 3) -> None:
    """Centre the text in the box, as large as it fits."""
    x0, y0, x1, y1 = box
    font, lines, line_h = _fit(s.draw, text, x1 - x0, y1 - y0, max_lines)
    step = line_h * 1.12
    top = (y0 + y1) / 2 - step * len(lines) / 2
    ref = s.draw.textbbox((0, 0), "AH", font=font)[1]  # glyphs start below the anchor by this much
    for i, line in enumerate(lines):
        left, _, right, _ = s.draw.textbbox((0, 0), line, font=font)
        x = (x0 + x1) / 2 - (right - left) / 2 - left
        s.draw.text((x, top + i * step - ref + (step - line_h) / 2), line, font=font, fill=fill)


# --- the scene ------------------------------------------------------------------------------


@dataclass
class _Scene:
    img: Image.Image
    rng: random.Random
    spec: dict
    night: bool
    dim: bool = True  # photo-like scenes darken at night; flat designs keep their colours
    outline: int = 0  # line width of the black outlines that mark the cartoon style
    horizon: float = 0.6
    foot_y: float = 0.0  # where things laid on the ground (candles, flowers) go
    banner_box: Box | None = None
    banner_poles: bool = False
    people: list[tuple[float, float, float, tuple[float, float]]] = field(default_factory=list)
    handled: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.img)
        self.foot_y = self.h * 0.93

    @property
    def w(self) -> int:
        return self.img.width

    @property
    def h(self) -> int:
        return self.img.height

    @property
    def u(self) -> float:
        """One percent of the short side: sizes that should not stretch with the aspect ratio."""
        return min(self.w, self.h) / 100

    def col(self, color, lit: bool = False) -> RGB:
        rgb = _rgb(color)
        if self.night and self.dim and not lit:
            return (int(rgb[0] * 0.42), int(rgb[1] * 0.45), int(rgb[2] * 0.62))
        return rgb

    def _line(self) -> dict:
        return {"outline": (0, 0, 0), "width": self.outline} if self.outline else {}

    def ellipse(self, box: Box, fill) -> None:
        self.draw.ellipse(_ordered(box), fill=fill, **self._line())

    def rect(self, box: Box, fill, radius: float = 0) -> None:
        self.draw.rounded_rectangle(_ordered(box), radius=radius, fill=fill, **self._line())

    def poly(self, points, fill) -> None:
        self.draw.polygon([(float(x), float(y)) for x, y in points], fill=fill, **self._line())

    def stick(self, a, b, fill, width: float) -> None:
        if self.outline:
            self.draw.line([a, b], fill=(0, 0, 0), width=int(width + 2 * self.outline))
        self.draw.line([a, b], fill=fill, width=max(1, int(width)))


def _ordered(box: Box) -> Box:
    x0, y0, x1, y1 = box
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _rgb(color) -> RGB:
    if isinstance(color, tuple):
        return color[:3]
    try:
        return ImageColor.getrgb(str(color))[:3]
    except ValueError:
        return (123, 45, 142)


def _lerp(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(x + (y - x) * t) for x, y in zip(a, b))


def _luma(rgb: RGB) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _glow(s: _Scene, cx: float, cy: float, r: float, color: RGB, strength: float = 0.8) -> None:
    size = int(r * 4) + 2
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse(
        (size / 2 - r, size / 2 - r, size / 2 + r, size / 2 + r), fill=int(255 * strength)
    )
    mask = mask.filter(ImageFilter.GaussianBlur(r * 0.6))
    s.img.paste(color, (int(cx - size / 2), int(cy - size / 2)), mask)


# --- backdrops ------------------------------------------------------------------------------


def _backdrop(s: _Scene, ground: str) -> None:
    """Sky and ground; the sun by day, the moon and stars by night."""
    hy = int(s.h * s.horizon)
    top, bottom = ((10, 12, 40), (38, 44, 90)) if s.night else ((95, 160, 225), (200, 228, 248))
    for y in range(hy):
        s.draw.line([(0, y), (s.w, y)], fill=_lerp(top, bottom, y / max(1, hy)))
    s.draw.rectangle((0, hy, s.w, s.h), fill=s.col(ground))
    x, y, r = s.rng.uniform(0.12, 0.88) * s.w, s.rng.uniform(0.08, 0.18) * s.h, s.u * 6
    if s.night:
        for _ in range(int(s.w * hy / (s.u * s.u * 60))):
            sx, sy, sr = s.rng.uniform(0, s.w), s.rng.uniform(0, hy * 0.8), s.u * s.rng.uniform(0.2, 0.45)
            s.draw.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=(250, 250, 225))
        _glow(s, x, y, r * 1.6, (120, 125, 160), 0.5)
        s.ellipse((x - r, y - r, x + r, y + r), (242, 240, 215))
    else:
        _glow(s, x, y, r * 2, (255, 245, 200), 0.7)
        s.ellipse((x - r, y - r, x + r, y + r), (255, 214, 70))


def _lamps(s: _Scene) -> None:
    """Street lamps at both sides: unlit grey by day, glowing by night."""
    top, base = s.h * 0.2, s.h * s.horizon + s.h * 0.08
    for x in (s.w * 0.05, s.w * 0.95):
        s.stick((x, base), (x, top), s.col("#3a3f44"), s.u * 1.1)
        r = s.u * 2.2
        if s.night:
            _glow(s, x, top, r * 4, LIGHT, 0.7)
        s.ellipse((x - r, top - r, x + r, top + r), LIGHT if s.night else s.col("#c8ccd0"))


# --- figures --------------------------------------------------------------------------------


def _person(s: _Scene, x: float, base: float, hgt: float, skin, shirt, hair, legs: bool = True):
    """One standing figure; returns its head top and the hand that can hold a sign."""
    r = hgt * 0.11
    neck = base - hgt * 0.74
    hip = base - hgt * 0.36 if legs else base
    sw = hgt * 0.19
    if legs:
        trousers = s.col("#2b2d42")
        s.rect((x - sw * 0.75, hip - sw * 0.2, x - sw * 0.08, base), trousers)
        s.rect((x + sw * 0.08, hip - sw * 0.2, x + sw * 0.75, base), trousers)
    s.rect((x - sw, neck, x + sw, hip), shirt, radius=sw * 0.45)
    cy = neck - r * 0.8
    s.ellipse((x - r * 1.12, cy - r * 1.18, x + r * 1.12, cy + r * 0.55), hair)
    s.ellipse((x - r, cy - r, x + r, cy + r), skin)
    s.draw.chord((x - r * 1.05, cy - r * 1.15, x + r * 1.05, cy + r * 0.35), 180, 360, fill=hair)
    return cy - r * 1.18, (x + sw * 0.95, neck + hgt * 0.18)


def _crowd(s: _Scene, n: int, front_base: float, front_h: float, x0: float, x1: float) -> None:
    """People in rows, back rows smaller and higher; the front row is drawn last."""
    if n <= 0:
        return
    per_row = n if n <= 6 else 9 if n <= 22 else 14
    rows = math.ceil(n / per_row)
    counts = [per_row] * (rows - 1) + [n - per_row * (rows - 1)]
    tones = s.spec.get("skin_tones") or DEFAULT_SKIN_TONES
    palette = s.spec.get("palette", "#7b2d8e")
    for row in reversed(range(rows)):
        hgt = front_h * 0.78**row
        base = front_base - row * front_h * 0.3
        count = counts[row]
        spacing = min((x1 - x0) / count, hgt * 0.5) if n <= 6 else (x1 - x0) / count
        start = (x0 + x1) / 2 - spacing * count / 2 + (spacing * 0.5 * (row % 2) if n > 6 else 0)
        for i in range(count):
            x = start + (i + 0.5) * spacing + s.rng.uniform(-0.2, 0.2) * spacing
            shirt = palette if s.rng.random() < 0.3 else s.rng.choice(CLOTHES)
            head_top, hand = _person(
                s,
                x,
                base + s.rng.uniform(-0.02, 0.02) * hgt,
                hgt,
                s.col(s.rng.choice(tones)),
                s.col(shirt),
                s.col(s.rng.choice(HAIR)),
            )
            s.people.append((x, head_top, hgt, hand))


def _statue(s: _Scene, cx: float, base: float, height: float) -> None:
    """A one-colour figure with a raised torch on a stepped pedestal: reads as a monument."""
    stone, dark = s.col("#b7b1a2"), s.col("#8e887a")
    ph = height * 0.42
    s.rect((cx - height * 0.32, base - ph * 0.18, cx + height * 0.32, base), dark)
    s.rect((cx - height * 0.22, base - ph * 0.92, cx + height * 0.22, base - ph * 0.18), stone)
    s.rect((cx - height * 0.26, base - ph, cx + height * 0.26, base - ph * 0.9), dark)
    metal = s.col(s.rng.choice(["#7a5a35", "#5f7f6f", "#8a8a86"]))
    fh = height - ph
    top = base - ph
    head_top, _ = _person(s, cx, top, fh, metal, metal, metal, legs=False)
    shoulder = (cx + fh * 0.15, top - fh * 0.68)
    hand = (cx + fh * 0.3, head_top - fh * 0.12)
    s.stick(shoulder, hand, metal, fh * 0.09)
    r = fh * 0.06
    s.ellipse((hand[0] - r, hand[1] - r * 2.4, hand[0] + r, hand[1]), s.col((255, 150, 40), lit=True))
    s.banner_box = (cx - s.w * 0.3, top + ph * 0.15, cx + s.w * 0.3, top + ph * 0.45)


# --- elements -------------------------------------------------------------------------------


def _buildings(s: _Scene) -> None:
    """A row of blocks on the horizon with a grid of windows, lit at night."""
    horizon = s.h * s.horizon
    x = -s.rng.uniform(0, 0.1) * s.w
    while x < s.w:
        bw, bh = s.rng.uniform(0.12, 0.24) * s.w, s.rng.uniform(0.18, 0.42) * s.h
        top = horizon - bh
        s.rect(
            (x, top, x + bw, horizon + s.u),
            s.col(s.rng.choice(["#a89f91", "#8d99ae", "#b5838d", "#c9ada7", "#6d6875"])),
        )
        cols, rows = max(2, int(bw / (s.u * 5))), max(2, int(bh / (s.u * 6)))
        cw, rh = bw / cols, bh / rows
        for i, j in itertools.product(range(cols), range(rows - 1)):
            lit = s.night and s.rng.random() < 0.6
            fill = LIGHT if lit else (s.col("#3c4f65") if not s.night else (22, 24, 40))
            wx, wy = x + i * cw, top + j * rh + rh * 0.3
            s.draw.rectangle((wx + cw * 0.25, wy, wx + cw * 0.75, wy + rh * 0.5), fill=fill)
        x += bw + s.rng.uniform(0, 0.02) * s.w


def _statue_element(s: _Scene) -> None:
    _statue(s, s.w * s.rng.choice([0.15, 0.85]), s.h * (s.horizon + 0.04), s.h * 0.5)
    s.banner_box = None  # the statue is scenery here; the banner belongs to the crowd


def _banners(s: _Scene) -> None:
    box = s.banner_box or (s.w * 0.1, s.foot_y - s.h * 0.3, s.w * 0.9, s.foot_y - s.h * 0.12)
    x0, y0, x1, y1 = box
    palette = _rgb(s.spec.get("palette", "#7b2d8e"))
    fill, ink = ((245, 245, 240), palette) if s.rng.random() < 0.5 else (palette, (255, 255, 255))
    if s.banner_poles:
        for px in (x0 + (x1 - x0) * 0.06, x1 - (x1 - x0) * 0.06):
            s.stick((px, y0 - s.u), (px, y1 + s.h * 0.16), s.col("#5a3e1b"), s.u * 0.9)
    s.rect(box, s.col(fill), radius=s.u)
    pad = (y1 - y0) * 0.12
    _text(
        s, str(s.spec.get("slogan", "")), (x0 + pad * 2, y0 + pad, x1 - pad * 2, y1 - pad), s.col(ink), max_lines=2
    )


def _sign(s: _Scene, x: float, bottom: float, sw: float, sh: float) -> None:
    fill = s.rng.choice([(250, 250, 245), (255, 226, 90), (255, 170, 200)])
    s.rect((x - sw / 2, bottom - sh, x + sw / 2, bottom), s.col(fill))
    ink = s.col(s.spec.get("palette", "#7b2d8e")) if s.rng.random() < 0.5 else s.col((20, 20, 20))
    pad = sh * 0.1
    _text(
        s,
        str(s.spec.get("slogan", "")),
        (x - sw / 2 + pad, bottom - sh + pad, x + sw / 2 - pad, bottom - pad),
        ink,
    )


def _signs(s: _Scene) -> None:
    """Cardboard signs on sticks above some heads, or planted in the ground if nobody is there."""
    holders = s.people if s.people else [(s.w * 0.75, s.foot_y - s.h * 0.45, s.h * 0.5, (s.w * 0.75, s.foot_y))]
    k = min(len(holders), max(2, len(holders) // 3), 8)
    for x, head_top, hgt, hand in s.rng.sample(holders, k):
        sw, sh = hgt * 0.6, hgt * 0.38
        bottom = head_top - hgt * 0.08
        s.stick(hand, (x, bottom - sh / 2), s.col("#6b4a2b"), max(2, hgt * 0.025))
        _sign(s, x, bottom, sw, sh)


def _candles(s: _Scene) -> None:
    """A row of white candles with flames on the ground, glowing at night."""
    count = s.rng.randint(6, 11)
    cw, ch = s.u * 2.6, s.u * 6
    for i in range(count):
        x = s.w * (0.08 + 0.84 * (i + s.rng.uniform(0.2, 0.8)) / count)
        base = s.foot_y + s.rng.uniform(-0.02, 0.03) * s.h
        if s.night:
            _glow(s, x, base - ch - cw, cw * 2.2, (255, 190, 90), 0.55)
        s.rect((x - cw / 2, base - ch, x + cw / 2, base), s.col("#f4efe1"), radius=cw * 0.2)
        s.ellipse((x - cw * 0.45, base - ch - cw * 1.6, x + cw * 0.45, base - ch + cw * 0.1), (255, 150, 30))
        s.ellipse((x - cw * 0.2, base - ch - cw * 0.9, x + cw * 0.2, base - ch), (255, 240, 150))


def _flowers(s: _Scene) -> None:
    """Bright flower heads scattered on the ground."""
    for _ in range(s.rng.randint(14, 24)):
        x = s.rng.uniform(0.05, 0.95) * s.w
        y = s.foot_y + s.rng.uniform(-0.03, 0.05) * s.h
        r = s.u * s.rng.uniform(1.4, 2.4) * (2 if s.outline else 1)  # thick outlines would swallow small petals
        petal = s.col(s.rng.choice(["#e63946", "#ff70a6", "#ffffff", "#ffd60a", "#9d4edd", "#ff9f1c"]))
        for k in range(5):
            a = k * 2 * math.pi / 5
            px, py = x + math.cos(a) * r, y + math.sin(a) * r
            s.ellipse((px - r * 0.7, py - r * 0.7, px + r * 0.7, py + r * 0.7), petal)
        s.ellipse((x - r * 0.55, y - r * 0.55, x + r * 0.55, y + r * 0.55), s.col("#f9c80e"))


BACK_ELEMENTS = {"building": _buildings, "statue": _statue_element}
FRONT_ELEMENTS = {"signs": _signs, "banners": _banners, "candles": _candles, "flowers": _flowers}


def _elements(s: _Scene, painters: dict) -> None:
    """Draw the spec's elements in the painters' order (signs behind banners); unknown names are skipped."""
    wanted = set(s.spec.get("visible_elements", [])) - s.handled
    for name, painter in painters.items():
        if name in wanted:
            painter(s)


# --- layouts --------------------------------------------------------------------------------


def _layout_crowd(s: _Scene) -> None:
    n = max(0, int(s.spec.get("people", 12)))
    s.horizon = 0.55
    _backdrop(s, "#8d8f93")
    _lamps(s)
    _elements(s, BACK_ELEMENTS)
    small = n <= 6
    front_base = s.h * (0.88 if small else 1.04)
    front_h = s.h * (0.52 if small else 0.42 if n <= 22 else 0.36)
    _crowd(s, n, front_base, front_h, s.w * 0.04, s.w * 0.96)
    s.foot_y = s.h * 0.94
    front = [p for p in s.people if p[2] >= front_h * 0.99]
    if front:
        bottom = min(p[1] for p in front) - s.h * 0.03
        height = min(s.h * 0.22, bottom - s.h * 0.04)
        left = s.rng.uniform(0.06, 0.14) * s.w
        s.banner_box = (left, bottom - height, s.w - left, bottom)
        s.banner_poles = True
    _elements(s, FRONT_ELEMENTS)


def _layout_portrait(s: _Scene) -> None:
    """A selfie: one face and shoulders fill the frame against a blurred background."""
    s.horizon = 0.7
    _backdrop(s, "#7d8083")
    _elements(s, BACK_ELEMENTS)
    s.img.paste(s.img.filter(ImageFilter.GaussianBlur(s.u * 1.5)))
    s.draw = ImageDraw.Draw(s.img)
    tones = s.spec.get("skin_tones") or DEFAULT_SKIN_TONES
    skin, hair = s.col(s.rng.choice(tones)), s.col(s.rng.choice(HAIR))
    shirt, scarf = s.col(s.rng.choice(CLOTHES)), s.col(s.spec.get("palette", "#7b2d8e"))
    cx = s.w * s.rng.uniform(0.42, 0.5)
    fw, fh = min(s.w * 0.5, s.h * 0.5), s.h * 0.6
    cy = s.h * 0.44
    s.rect((cx - s.w * 0.42, s.h * 0.8, cx + s.w * 0.42, s.h * 1.2), shirt, radius=s.w * 0.12)
    s.rect((cx - fw * 0.22, cy + fh * 0.3, cx + fw * 0.22, s.h * 0.86), skin)
    s.rect((cx - fw * 0.55, s.h * 0.8, cx + fw * 0.55, s.h * 0.9), scarf, radius=s.u * 3)
    s.ellipse((cx - fw * 0.62, cy - fh * 0.6, cx + fw * 0.62, cy + fh * 0.45), hair)
    s.ellipse((cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2), skin)
    s.draw.chord((cx - fw * 0.56, cy - fh * 0.6, cx + fw * 0.56, cy - fh * 0.05), 180, 360, fill=hair)
    for side in (-1, 1):
        ex, ey = cx + side * fw * 0.2, cy - fh * 0.02
        s.ellipse((ex - fw * 0.09, ey - fh * 0.045, ex + fw * 0.09, ey + fh * 0.045), s.col("#ffffff"))
        s.ellipse((ex - fw * 0.04, ey - fh * 0.04, ex + fw * 0.04, ey + fh * 0.04), s.col("#2b1d14"))
        s.stick((ex - fw * 0.1, ey - fh * 0.1), (ex + fw * 0.1, ey - fh * 0.11), hair, fh * 0.025)
    s.draw.arc(
        (cx - fw * 0.2, cy + fh * 0.08, cx + fw * 0.2, cy + fh * 0.3),
        20,
        160,
        fill=s.col("#8c2f39"),
        width=max(2, int(fh * 0.03)),
    )
    s.stick((cx - s.w * 0.3, s.h * 0.85), (0, s.h * 0.55), skin, s.w * 0.09)  # the arm holding the phone
    if "signs" in s.spec.get("visible_elements", []):
        x, bottom = s.w * 0.83, s.h * 0.95
        s.stick((x, bottom), (x, s.h * 0.5), s.col("#6b4a2b"), s.u * 1.5)
        _sign(s, x, s.h * 0.62, s.w * 0.3, s.h * 0.36)
        s.handled.add("signs")
    _elements(s, FRONT_ELEMENTS)


def _layout_monument(s: _Scene) -> None:
    s.horizon = 0.66
    _backdrop(s, "#b9b2a3")
    _lamps(s)
    _elements(s, {"building": _buildings})
    _statue(s, s.w / 2, s.h * 0.86, s.h * 0.74)
    s.handled.add("statue")
    s.foot_y = s.h * 0.9
    n = max(0, int(s.spec.get("people", 0)))
    _crowd(s, (n + 1) // 2, s.h * 1.0, s.h * 0.32, s.w * 0.02, s.w * 0.3)
    _crowd(s, n // 2, s.h * 1.0, s.h * 0.32, s.w * 0.7, s.w * 0.98)
    _elements(s, FRONT_ELEMENTS)


def _layout_cartoon(s: _Scene) -> None:
    """Flat fills, thick black outlines and a speech bubble: the marks of a drawn cartoon."""
    s.dim, s.outline, s.horizon = False, max(2, int(s.u * 1.1)), 0.78
    sky = (28, 30, 92) if s.night else s.rng.choice([(255, 210, 63), (110, 205, 255), (255, 150, 190)])
    s.draw.rectangle((0, 0, s.w, s.h), fill=sky)
    s.rect((-s.outline, s.h * s.horizon, s.w + s.outline, s.h + s.outline), (96, 200, 110))
    r = s.u * 7
    x, y = s.w * 0.1, s.h * 0.14
    if s.night:
        for _ in range(12):
            sx, sy, sr = s.rng.uniform(0.2, 1) * s.w, s.rng.uniform(0.05, 0.7) * s.h, s.u * 2.6
            s.poly(
                [
                    (
                        sx + sr * math.cos(a) * (1 if k % 2 else 0.45),
                        sy + sr * math.sin(a) * (1 if k % 2 else 0.45),
                    )
                    for k, a in enumerate(i * math.pi / 5 for i in range(10))
                ],
                (255, 235, 80),
            )
        s.ellipse((x - r, y - r, x + r, y + r), (245, 240, 200))
    else:
        for k in range(8):
            a = k * math.pi / 4
            s.stick(
                (x + math.cos(a) * r * 1.3, y + math.sin(a) * r * 1.3),
                (x + math.cos(a) * r * 1.9, y + math.sin(a) * r * 1.9),
                (255, 120, 0),
                s.u,
            )
        s.ellipse((x - r, y - r, x + r, y + r), (255, 120, 0))
    _elements(s, BACK_ELEMENTS)
    tones = s.spec.get("skin_tones") or DEFAULT_SKIN_TONES
    palette = _rgb(s.spec.get("palette", "#7b2d8e"))
    px, hgt = s.w * 0.27, s.h * 0.78
    skin = _rgb(s.rng.choice(tones))
    head_top, hand = _person(s, px, s.h * 1.02, hgt, skin, palette, _rgb(s.rng.choice(HAIR)))
    r, cy = hgt * 0.11, s.h * 1.02 - hgt * 0.74 - hgt * 0.088
    for side in (-1, 1):
        s.draw.ellipse(
            (px + side * r * 0.4 - r * 0.13, cy - r * 0.05, px + side * r * 0.4 + r * 0.13, cy + r * 0.25),
            fill=(0, 0, 0),
        )
    s.draw.arc(
        (px - r * 0.45, cy + r * 0.05, px + r * 0.45, cy + r * 0.7), 20, 160, fill=(0, 0, 0), width=s.outline
    )
    fist = (px + hgt * 0.32, head_top - hgt * 0.05)
    s.stick((px + hgt * 0.15, s.h * 1.02 - hgt * 0.66), fist, palette, hgt * 0.08)
    s.ellipse((fist[0] - hgt * 0.06, fist[1] - hgt * 0.06, fist[0] + hgt * 0.06, fist[1] + hgt * 0.06), skin)
    bubble = (s.w * 0.47, s.h * 0.05, s.w * 0.97, s.h * 0.55)
    s.poly(
        [(s.w * 0.5, s.h * 0.36), (s.w * 0.6, s.h * 0.5), (px + hgt * 0.16, head_top + hgt * 0.16)],
        (255, 255, 255),
    )
    s.ellipse(bubble, (255, 255, 255))
    bw, bh = bubble[2] - bubble[0], bubble[3] - bubble[1]
    inner = (bubble[0] + bw * 0.16, bubble[1] + bh * 0.18, bubble[2] - bw * 0.16, bubble[3] - bh * 0.18)
    _text(s, str(s.spec.get("slogan", "")), inner, (10, 10, 10))
    s.foot_y = s.h * 0.92
    _elements(s, FRONT_ELEMENTS)


def _layout_flyer(s: _Scene) -> None:
    """A designed poster in one palette colour; time of day does not apply to a digital design."""
    s.dim = False
    words = FLYER_WORDS.get(str(s.spec.get("text_language", "en")), FLYER_WORDS["en"])
    bg = _rgb(s.spec.get("palette", "#7b2d8e"))
    dark = _luma(bg) < 140
    ink = (255, 255, 255) if dark else (20, 20, 30)
    accent = (255, 214, 10) if dark else (40, 20, 80)
    s.draw.rectangle((0, 0, s.w, s.h), fill=bg)
    shade = _lerp(bg, ink, 0.3)
    if words["motif"] == "circle":
        r = s.h * 0.45
        s.draw.ellipse((s.w * 0.85 - r, -r * 0.55, s.w * 0.85 + r, r * 1.45), fill=shade)
    else:
        for k in range(4):
            x = -s.w * 0.15 + k * s.w * 0.12
            s.draw.polygon(
                [(x, s.h), (x + s.w * 0.07, s.h), (x + s.w * 0.42, s.h * 0.4), (x + s.w * 0.35, s.h * 0.4)],
                fill=shade,
            )
    m = s.u * 3
    s.draw.rectangle((m, m, s.w - m, s.h - m), outline=ink, width=max(2, int(s.u * 0.8)))
    w0, w1 = s.w * 0.08, s.w * 0.92
    _text(s, words["call"], (w0, s.h * 0.07, w1, s.h * 0.2), accent, max_lines=1)
    _text(s, str(s.spec.get("slogan", "")), (w0, s.h * 0.22, w1, s.h * 0.54), ink)
    s.draw.rectangle((s.w * 0.3, s.h * 0.57, s.w * 0.7, s.h * 0.575 + s.u * 0.6), fill=accent)
    demand = f"{words['demand']}: {str(s.spec.get('demand', '')).upper()}"
    _text(s, demand, (w0, s.h * 0.6, w1, s.h * 0.73), ink, max_lines=2)
    when = f"{words['when']} · {words['where']} {str(s.spec.get('setting', '')).upper()}"
    _text(s, when, (w0, s.h * 0.75, w1, s.h * 0.83), accent, max_lines=1)
    _text(s, str(s.spec.get("hashtag", "")), (w0, s.h * 0.85, w1, s.h * 0.93), ink, max_lines=1)
    _elements(s, FRONT_ELEMENTS)


LAYOUTS = {
    "crowd": _layout_crowd,
    "portrait": _layout_portrait,
    "flyer": _layout_flyer,
    "cartoon": _layout_cartoon,
    "monument": _layout_monument,
}


# --- public API -----------------------------------------------------------------------------


def render_image(spec: dict, width: int, height: int, seed: int) -> bytes:
    """PNG bytes for the spec; the same inputs give the same bytes, since all chance comes from `seed`."""
    layout = spec.get("layout")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {sorted(LAYOUTS)}")
    if width < 16 or height < 16:
        raise ValueError(f"image size {width}x{height} is too small; need at least 16x16")
    canvas = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), (0, 0, 0))
    scene = _Scene(canvas, random.Random(seed), spec, night=spec.get("time_of_day") == "night")
    LAYOUTS[layout](scene)
    image = scene.img.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image(data: bytes) -> Image.Image:
    """Open image bytes fully, so a truncated or corrupt file fails here and not in a later step."""
    if not data:
        raise ValueError("not a decodable image: no data")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # verify() leaves the image unusable, hence the second open
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow signals corruption with many types (OSError, SyntaxError, struct.error, ...)
        raise ValueError(f"not a decodable image: {type(exc).__name__}: {exc}") from exc
    return image


def image_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
