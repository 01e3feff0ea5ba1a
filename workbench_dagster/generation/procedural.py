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

from PIL import Image, ImageDraw, ImageFilter

from workbench_dagster.generation.elements import (
    BACK_ELEMENTS,
    CLOTHES,
    DEFAULT_SKIN_TONES,
    FRONT_ELEMENTS,
    HAIR,
    backdrop,
    buildings,
    crowd,
    lamps,
    paint_elements,
    person,
    sign,
    statue,
)
from workbench_dagster.generation.scene import Scene, lerp, luma, to_rgb

RENDERER_VERSION = "procedural-v1"  # bump when a change alters pixels, so the render cache misses
SUPERSAMPLE = 2  # drawn at twice the size and downscaled: ImageDraw has no anti-aliasing

# Flyer wording and a house style per language: the style keeps flyers of different
# languages apart even at 64x64, where their text is unreadable. Unknown languages get English.
FLYER_WORDS = {
    "en": {"call": "MARCH", "when": "SATURDAY 6PM", "demand": "WE DEMAND", "where": "IN", "motif": "stripes"},
    "es": {"call": "MARCHA", "when": "SÁBADO 18H", "demand": "EXIGIMOS", "where": "EN", "motif": "circle"},
}


# --- layouts --------------------------------------------------------------------------------


def _layout_crowd(s: Scene) -> None:
    n = max(0, int(s.spec.get("people", 12)))
    s.horizon = 0.55
    backdrop(s, "#8d8f93")
    lamps(s)
    paint_elements(s, BACK_ELEMENTS)
    small = n <= 6
    front_base = s.h * (0.88 if small else 1.04)
    front_h = s.h * (0.52 if small else 0.42 if n <= 22 else 0.36)
    crowd(s, n, front_base, front_h, s.w * 0.04, s.w * 0.96)
    s.foot_y = s.h * 0.94
    front = [p for p in s.people if p[2] >= front_h * 0.99]
    if front:
        bottom = min(p[1] for p in front) - s.h * 0.03
        height = min(s.h * 0.22, bottom - s.h * 0.04)
        left = s.rng.uniform(0.06, 0.14) * s.w
        s.banner_box = (left, bottom - height, s.w - left, bottom)
        s.banner_poles = True
    paint_elements(s, FRONT_ELEMENTS)


def _layout_portrait(s: Scene) -> None:
    """A selfie: one face and shoulders fill the frame against a blurred background."""
    s.horizon = 0.7
    backdrop(s, "#7d8083")
    paint_elements(s, BACK_ELEMENTS)
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
        sign(s, x, s.h * 0.62, s.w * 0.3, s.h * 0.36)
        s.handled.add("signs")
    paint_elements(s, FRONT_ELEMENTS)


def _layout_monument(s: Scene) -> None:
    s.horizon = 0.66
    backdrop(s, "#b9b2a3")
    lamps(s)
    paint_elements(s, {"building": buildings})
    statue(s, s.w / 2, s.h * 0.86, s.h * 0.74)
    s.handled.add("statue")
    s.foot_y = s.h * 0.9
    n = max(0, int(s.spec.get("people", 0)))
    crowd(s, (n + 1) // 2, s.h * 1.0, s.h * 0.32, s.w * 0.02, s.w * 0.3)
    crowd(s, n // 2, s.h * 1.0, s.h * 0.32, s.w * 0.7, s.w * 0.98)
    paint_elements(s, FRONT_ELEMENTS)


def _layout_cartoon(s: Scene) -> None:
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
    paint_elements(s, BACK_ELEMENTS)
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
    s.foot_y = s.h * 0.92
    paint_elements(s, FRONT_ELEMENTS)


def _layout_flyer(s: Scene) -> None:
    """A designed poster in one palette colour; time of day does not apply to a digital design."""
    s.dim = False
    words = FLYER_WORDS.get(str(s.spec.get("text_language", "en")), FLYER_WORDS["en"])
    bg = to_rgb(s.spec.get("palette", "#7b2d8e"))
    dark = luma(bg) < 140
    ink = (255, 255, 255) if dark else (20, 20, 30)
    accent = (255, 214, 10) if dark else (40, 20, 80)
    s.draw.rectangle((0, 0, s.w, s.h), fill=bg)
    shade = lerp(bg, ink, 0.3)
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
    s.text(words["call"], (w0, s.h * 0.07, w1, s.h * 0.2), accent, max_lines=1)
    s.text(str(s.spec.get("slogan", "")), (w0, s.h * 0.22, w1, s.h * 0.54), ink)
    s.draw.rectangle((s.w * 0.3, s.h * 0.57, s.w * 0.7, s.h * 0.575 + s.u * 0.6), fill=accent)
    demand = f"{words['demand']}: {str(s.spec.get('demand', '')).upper()}"
    s.text(demand, (w0, s.h * 0.6, w1, s.h * 0.73), ink, max_lines=2)
    when = f"{words['when']} · {words['where']} {str(s.spec.get('setting', '')).upper()}"
    s.text(when, (w0, s.h * 0.75, w1, s.h * 0.83), accent, max_lines=1)
    s.text(str(s.spec.get("hashtag", "")), (w0, s.h * 0.85, w1, s.h * 0.93), ink, max_lines=1)
    paint_elements(s, FRONT_ELEMENTS)


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
    scene = Scene(canvas, random.Random(seed), spec, night=spec.get("time_of_day") == "night")
    LAYOUTS[layout](scene)
    image = scene.img.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
