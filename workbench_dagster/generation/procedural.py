"""Procedural stand-in images drawn from a prompt spec.

Offline runs need images whose content is known by construction, so every reference label
is really visible. Shapes are big and colours bold because a small CNN baseline reads the
images downscaled to 64x64, where only silhouettes and colour fields survive. The layouts
here compose the painters of elements.py on a scene.py canvas.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from workbench_dagster.generation.elements import (
    CLOTHES,
    DEFAULT_SKIN_TONES,
    HAIR,
    backdrop,
    crowd,
    lamps,
    person,
    sign,
    statue,
)
from workbench_dagster.generation.lettering import Box
from workbench_dagster.generation.scene import Scene, luma, to_rgb
from workbench_dagster.generation.vocabulary import ELEMENT_PRIMITIVES, PRIMITIVES, element_primitive

RENDERER_VERSION = "procedural-v3"  # bump when a change alters pixels, so the render cache misses
SUPERSAMPLE = 2  # drawn at twice the size and downscaled: ImageDraw has no anti-aliasing


def wanted_primitives(spec: dict) -> list[str]:
    """The spec's element primitives in paint order; a name outside the vocabulary is an error, never skipped."""
    names = set(spec.get("primitives", []))
    for name in names:
        element_primitive(name)
    return [name for name in ELEMENT_PRIMITIVES if name in names]


def paint_stage(s: Scene, stage: str, skip: tuple[str, ...] = ()) -> None:
    """Paint the spec's primitives of one stage (back: scenery, front: held or laid down)."""
    for name in wanted_primitives(s.spec):
        primitive = PRIMITIVES[name]
        if primitive.stage == stage and name not in s.handled and name not in skip:
            with s.primitive(name, own_rng=True):
                primitive.paint(s)


def _people(spec: dict) -> int:
    return max(0, int(spec.get("people", 0)))


# --- layouts --------------------------------------------------------------------------------


def _layout_crowd(s: Scene) -> None:
    n = _people(s.spec)
    s.horizon = 0.55
    backdrop(s, "#8d8f93")
    lamps(s)
    paint_stage(s, "back")
    small = n <= 6
    front_base = s.h * (0.88 if small else 1.04)
    front_h = s.h * (0.52 if small else 0.42 if n <= 22 else 0.36)
    with s.primitive("people"):
        crowd(s, n, front_base, front_h, s.w * 0.04, s.w * 0.96)
    s.foot_y = s.h * 0.94
    front = [p for p in s.people if p[2] >= front_h * 0.99]
    if front:
        bottom = min(p[1] for p in front) - s.h * 0.03
        height = min(s.h * 0.22, bottom - s.h * 0.04)
        left = s.rng.uniform(0.06, 0.14) * s.w
        s.banner_box = (left, bottom - height, s.w - left, bottom)
        s.banner_poles = True
    paint_stage(s, "front")


def _layout_portrait(s: Scene) -> None:
    """A selfie: one face and shoulders fill the frame against a blurred background."""
    s.horizon = 0.7
    backdrop(s, "#7d8083")
    paint_stage(s, "back")
    s.img.paste(s.img.filter(ImageFilter.GaussianBlur(s.u * 1.5)))
    s.draw = ImageDraw.Draw(s.img)
    with s.primitive("portrait"):
        _selfie(s)
    if "signs" in wanted_primitives(s.spec):
        with s.primitive("signs", own_rng=True):
            x, bottom = s.w * 0.83, s.h * 0.95
            s.stick((x, bottom), (x, s.h * 0.5), s.col("#6b4a2b"), s.u * 1.5)
            sign(s, x, s.h * 0.62, s.w * 0.3, s.h * 0.36)
    paint_stage(s, "front")


def _selfie(s: Scene) -> None:
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


def _layout_monument(s: Scene) -> None:
    s.horizon = 0.66
    backdrop(s, "#b9b2a3")
    lamps(s)
    paint_stage(s, "back", skip=("statue",))
    with s.primitive("statue"):
        statue(s, s.w / 2, s.h * 0.86, s.h * 0.74)
    s.foot_y = s.h * 0.9
    n = _people(s.spec)
    with s.primitive("people"):
        crowd(s, (n + 1) // 2, s.h * 1.0, s.h * 0.32, s.w * 0.02, s.w * 0.3)
        crowd(s, n // 2, s.h * 1.0, s.h * 0.32, s.w * 0.7, s.w * 0.98)
    paint_stage(s, "front")


def _layout_cartoon(s: Scene) -> None:
    """Flat fills, thick black outlines and a speech bubble: the marks of a drawn cartoon."""
    s.dim, s.outline, s.horizon = False, max(2, int(s.u * 1.1)), 0.78
    day_sky = s.rng.choice([(255, 210, 63), (110, 205, 255), (255, 150, 190)])  # drawn by night too: same stream
    sky = (28, 30, 92) if s.night else day_sky
    s.draw.rectangle((0, 0, s.w, s.h), fill=sky)
    s.rect((-s.outline, s.h * s.horizon, s.w + s.outline, s.h + s.outline), (96, 200, 110))
    r = s.u * 7
    x, y = s.w * 0.1, s.h * 0.14
    if s.night:
        stars = s.stream("stars")
        for _ in range(12):
            sx, sy, sr = stars.uniform(0.2, 1) * s.w, stars.uniform(0.05, 0.7) * s.h, s.u * 2.6
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
    paint_stage(s, "back")
    with s.primitive("cartoon"):
        _cartoon_figure(s)
    s.foot_y = s.h * 0.92
    paint_stage(s, "front")


def _cartoon_figure(s: Scene) -> None:
    """A protester with a raised fist and a speech bubble carrying the slogan."""
    tones = s.spec.get("skin_tones") or DEFAULT_SKIN_TONES
    palette = to_rgb(s.spec.get("palette", "#7b2d8e"))
    px, hgt = s.w * 0.27, s.h * 0.78
    skin = to_rgb(s.rng.choice(tones))
    head_top, hand = person(s, px, s.h * 1.02, hgt, skin, palette, to_rgb(s.rng.choice(HAIR)))
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
    s.text(str(s.spec.get("slogan", "")), inner, (10, 10, 10))


def _layout_flyer(s: Scene) -> None:
    """A designed poster in one palette colour; time of day does not apply to a digital design.

    Every word on it comes from the spec, so from the scenario: the slogan, the hashtag and the
    scenario's flyer text for the language (heading, demand line, date and place). Flyers of two
    languages differ only in their words: no shape tells the language without reading."""
    s.dim = False
    bg = to_rgb(s.spec.get("palette", "#7b2d8e"))
    ink = (255, 255, 255) if luma(bg) < 140 else (20, 20, 30)
    with s.primitive("flyer"):
        s.draw.rectangle((0, 0, s.w, s.h), fill=bg)
    paint_stage(s, "back")
    with s.primitive("flyer"):
        _flyer_text(s, ink, (255, 214, 10) if luma(bg) < 140 else (40, 20, 80))
    paint_stage(s, "front")


def _flyer_text(s: Scene, ink, accent) -> None:
    words = s.spec.get("flyer") or {}
    m = s.u * 3
    s.draw.rectangle((m, m, s.w - m, s.h - m), outline=ink, width=max(2, int(s.u * 0.8)))
    w0, w1 = s.w * 0.08, s.w * 0.92
    when = " · ".join(str(x).upper() for x in (words.get("when"), words.get("place_line")) if x)
    lines = [
        (words.get("heading"), (w0, s.h * 0.07, w1, s.h * 0.2), accent, 1),
        (s.spec.get("slogan"), (w0, s.h * 0.22, w1, s.h * 0.54), ink, 3),
        (str(words.get("demand_line") or "").upper(), (w0, s.h * 0.6, w1, s.h * 0.73), ink, 2),
        (when, (w0, s.h * 0.75, w1, s.h * 0.83), accent, 1),
        (s.spec.get("hashtag"), (w0, s.h * 0.85, w1, s.h * 0.93), ink, 1),
    ]
    for text, box, fill, max_lines in lines:
        if text:
            s.text(str(text), box, fill, max_lines=max_lines)
    s.draw.rectangle((s.w * 0.3, s.h * 0.57, s.w * 0.7, s.h * 0.575 + s.u * 0.6), fill=accent)


@dataclass(frozen=True)
class Layout:
    """A layout paints a whole picture around its `subject`, the primitive that makes its scene's own
    labels true; `crowd` layouts also draw the spec's people."""

    paint: Callable[[Scene], None]
    subject: str
    crowd: bool = False


LAYOUTS = {
    "crowd": Layout(_layout_crowd, "people", crowd=True),
    "portrait": Layout(_layout_portrait, "portrait"),
    "flyer": Layout(_layout_flyer, "flyer"),
    "cartoon": Layout(_layout_cartoon, "cartoon"),
    "monument": Layout(_layout_monument, "statue", crowd=True),
}


# --- public API -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Painting:
    png: bytes
    regions: dict[str, Box]  # primitive -> the box (output pixels) of what it changed when painted


def layout_of(spec: dict) -> Layout:
    name = spec.get("layout")
    if name not in LAYOUTS:
        raise ValueError(f"unknown layout {name!r}; expected one of: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def plan(spec: dict) -> list[str]:
    """The primitives the painter draws for this spec: the layout's subject (a crowd only with people),
    its people, then the spec's element primitives. The painter draws exactly these (a test holds
    them equal to what `paint` records), so the reference audit can ask this without painting."""
    layout, n = layout_of(spec), _people(spec)
    drawn = [layout.subject] if layout.subject != "people" or n else []
    if layout.crowd and n and "people" not in drawn:
        drawn.append("people")
    return drawn + [p for p in wanted_primitives(spec) if p not in drawn]


def paint(spec: dict, width: int, height: int, seed: int) -> Painting:
    """The PNG and what each primitive drew; the same inputs give the same bytes, since all chance
    comes from `seed`."""
    layout = layout_of(spec)
    wanted_primitives(spec)
    if width < 16 or height < 16:
        raise ValueError(f"image size {width}x{height} is too small; need at least 16x16")
    canvas = Image.new("RGB", (width * SUPERSAMPLE, height * SUPERSAMPLE), (0, 0, 0))
    scene = Scene(canvas, random.Random(seed), spec, night=spec.get("time_of_day") == "night", seed=seed)
    layout.paint(scene)
    image = scene.img.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    regions = {name: tuple(v / SUPERSAMPLE for v in box) for name, box in scene.regions.items()}
    return Painting(buffer.getvalue(), regions)


def render_image(spec: dict, width: int, height: int, seed: int) -> bytes:
    """PNG bytes for the spec (`paint` without the regions)."""
    return paint(spec, width, height, seed).png
