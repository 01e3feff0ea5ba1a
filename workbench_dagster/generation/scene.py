"""The canvas a procedural image is painted on, and the state its painters share.

Painters run one after another on one `Scene`: the layout sets the horizon and where the
banner goes, the crowd records who can hold a sign, and night dims every colour not lit. Each
primitive is painted inside `Scene.primitive`, which records the box of the pixels it changed: the
region it claims, which tests check in the final picture.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image, ImageChops, ImageColor, ImageDraw, ImageFilter

from workbench_dagster.generation.lettering import Box, draw_text

RGB = tuple[int, int, int]


@dataclass
class Scene:
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
    seed: int = 0
    regions: dict[str, Box] = field(default_factory=dict)  # primitive -> box of the pixels it changed

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

    @contextmanager
    def primitive(self, name: str, own_rng: bool = False) -> Iterator[None]:
        """Paint one primitive and record the box it changed. With `own_rng` it draws its chances from
        its own stream, so adding it to a spec leaves every other primitive of the picture as it was."""
        before, rng = self.img.copy(), self.rng
        if own_rng:
            self.rng = random.Random(f"{self.seed}/{name}")
        try:
            yield
        finally:
            self.rng = rng
            self.draw = ImageDraw.Draw(self.img)
        box = ImageChops.difference(before, self.img).getbbox()
        self.handled.add(name)
        if box:
            old = self.regions.get(name, box)
            self.regions[name] = (
                min(old[0], box[0]),
                min(old[1], box[1]),
                max(old[2], box[2]),
                max(old[3], box[3]),
            )

    def stream(self, name: str) -> random.Random:
        """A random stream of its own for what only some variants of a picture draw (stars at night, lit
        windows), so that drawing them moves nothing else: a night redraw keeps its day's crowd."""
        return random.Random(f"{self.seed}/{name}")

    def col(self, color, lit: bool = False) -> RGB:
        rgb = to_rgb(color)
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

    def glow(self, cx: float, cy: float, r: float, color: RGB, strength: float = 0.8) -> None:
        """A soft halo pasted through a blurred mask: how lamps, flames and the sun read as light."""
        size = int(r * 4) + 2
        mask = Image.new("L", (size, size), 0)
        ImageDraw.Draw(mask).ellipse(
            (size / 2 - r, size / 2 - r, size / 2 + r, size / 2 + r), fill=int(255 * strength)
        )
        mask = mask.filter(ImageFilter.GaussianBlur(r * 0.6))
        self.img.paste(color, (int(cx - size / 2), int(cy - size / 2)), mask)

    def text(self, text: str, box: Box, fill, max_lines: int = 3) -> None:
        draw_text(self.draw, text, box, fill, max_lines)


def _ordered(box: Box) -> Box:
    x0, y0, x1, y1 = box
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def to_rgb(color) -> RGB:
    if isinstance(color, tuple):
        return color[:3]
    try:
        return ImageColor.getrgb(str(color))[:3]
    except ValueError:
        return (123, 45, 142)


def lerp(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(x + (y - x) * t) for x, y in zip(a, b))


def luma(rgb: RGB) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
