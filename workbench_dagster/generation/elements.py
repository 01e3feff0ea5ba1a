"""Backdrops, figures and the first element primitives (vocabulary.py names them all).

Each element painter draws one thing a reference label promises (a banner, candles, a
statue), so a label is true of the image by construction.
"""

from __future__ import annotations

import itertools
import math

from workbench_dagster.generation.scene import Scene, lerp, to_rgb

DEFAULT_SKIN_TONES = ("#f1c27d", "#e0ac69", "#c68642", "#8d5524", "#5c3a21")
CLOTHES = ("#d62828", "#f77f00", "#1d3557", "#2a9d8f", "#6a4c93", "#f1faee", "#222222", "#e9c46a", "#457b9d")
HAIR = ("#1b1b1b", "#3b2416", "#6b4226", "#a0522d", "#d8c078", "#9a9a9a")
LIGHT = (255, 214, 120)  # lamps, lit windows and flames keep their colour at night

# --- backdrops ------------------------------------------------------------------------------


def backdrop(s: Scene, ground: str) -> None:
    """Sky and ground; the sun by day, the moon and stars by night."""
    hy = int(s.h * s.horizon)
    top, bottom = ((10, 12, 40), (38, 44, 90)) if s.night else ((95, 160, 225), (200, 228, 248))
    for y in range(hy):
        s.draw.line([(0, y), (s.w, y)], fill=lerp(top, bottom, y / max(1, hy)))
    s.draw.rectangle((0, hy, s.w, s.h), fill=s.col(ground))
    x, y, r = s.rng.uniform(0.12, 0.88) * s.w, s.rng.uniform(0.08, 0.18) * s.h, s.u * 6
    if s.night:
        stars = s.stream("stars")
        for _ in range(int(s.w * hy / (s.u * s.u * 60))):
            sx, sy, sr = stars.uniform(0, s.w), stars.uniform(0, hy * 0.8), s.u * stars.uniform(0.2, 0.45)
            s.draw.ellipse((sx - sr, sy - sr, sx + sr, sy + sr), fill=(250, 250, 225))
        s.glow(x, y, r * 1.6, (120, 125, 160), 0.5)
        s.ellipse((x - r, y - r, x + r, y + r), (242, 240, 215))
    else:
        s.glow(x, y, r * 2, (255, 245, 200), 0.7)
        s.ellipse((x - r, y - r, x + r, y + r), (255, 214, 70))


def lamps(s: Scene) -> None:
    """Street lamps at both sides: unlit grey by day, glowing by night."""
    top, base = s.h * 0.2, s.h * s.horizon + s.h * 0.08
    for x in (s.w * 0.05, s.w * 0.95):
        s.stick((x, base), (x, top), s.col("#3a3f44"), s.u * 1.1)
        r = s.u * 2.2
        if s.night:
            s.glow(x, top, r * 4, LIGHT, 0.7)
        s.ellipse((x - r, top - r, x + r, top + r), LIGHT if s.night else s.col("#c8ccd0"))


# --- figures --------------------------------------------------------------------------------


def person(s: Scene, x: float, base: float, hgt: float, skin, shirt, hair, legs: bool = True):
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


def crowd(s: Scene, n: int, front_base: float, front_h: float, x0: float, x1: float) -> None:
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
            head_top, hand = person(
                s,
                x,
                base + s.rng.uniform(-0.02, 0.02) * hgt,
                hgt,
                s.col(s.rng.choice(tones)),
                s.col(shirt),
                s.col(s.rng.choice(HAIR)),
            )
            s.people.append((x, head_top, hgt, hand))


def statue(s: Scene, cx: float, base: float, height: float) -> None:
    """A one-colour figure with a raised torch on a stepped pedestal: reads as a monument."""
    stone, dark = s.col("#b7b1a2"), s.col("#8e887a")
    ph = height * 0.42
    s.rect((cx - height * 0.32, base - ph * 0.18, cx + height * 0.32, base), dark)
    s.rect((cx - height * 0.22, base - ph * 0.92, cx + height * 0.22, base - ph * 0.18), stone)
    s.rect((cx - height * 0.26, base - ph, cx + height * 0.26, base - ph * 0.9), dark)
    metal = s.col(s.rng.choice(["#7a5a35", "#5f7f6f", "#8a8a86"]))
    fh = height - ph
    top = base - ph
    head_top, _ = person(s, cx, top, fh, metal, metal, metal, legs=False)
    shoulder = (cx + fh * 0.15, top - fh * 0.68)
    hand = (cx + fh * 0.3, head_top - fh * 0.12)
    s.stick(shoulder, hand, metal, fh * 0.09)
    r = fh * 0.06
    s.ellipse((hand[0] - r, hand[1] - r * 2.4, hand[0] + r, hand[1]), s.col((255, 150, 40), lit=True))
    s.banner_box = (cx - s.w * 0.3, top + ph * 0.15, cx + s.w * 0.3, top + ph * 0.45)


# --- elements -------------------------------------------------------------------------------


def buildings(s: Scene) -> None:
    """A row of blocks on the horizon with a grid of windows, lit at night."""
    horizon = s.h * s.horizon
    windows = s.stream("lit windows")
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
            lit = s.night and windows.random() < 0.6
            fill = LIGHT if lit else (s.col("#3c4f65") if not s.night else (22, 24, 40))
            wx, wy = x + i * cw, top + j * rh + rh * 0.3
            s.draw.rectangle((wx + cw * 0.25, wy, wx + cw * 0.75, wy + rh * 0.5), fill=fill)
        x += bw + s.rng.uniform(0, 0.02) * s.w


def statue_element(s: Scene) -> None:
    statue(s, s.w * s.rng.choice([0.15, 0.85]), s.h * (s.horizon + 0.04), s.h * 0.5)
    s.banner_box = None  # the statue is scenery here; the banner belongs to the crowd


def banners(s: Scene) -> None:
    box = s.banner_box or (s.w * 0.1, s.foot_y - s.h * 0.3, s.w * 0.9, s.foot_y - s.h * 0.12)
    x0, y0, x1, y1 = box
    palette = to_rgb(s.spec.get("palette", "#7b2d8e"))
    fill, ink = ((245, 245, 240), palette) if s.rng.random() < 0.5 else (palette, (255, 255, 255))
    if s.banner_poles:
        for px in (x0 + (x1 - x0) * 0.06, x1 - (x1 - x0) * 0.06):
            s.stick((px, y0 - s.u), (px, y1 + s.h * 0.16), s.col("#5a3e1b"), s.u * 0.9)
    s.rect(box, s.col(fill), radius=s.u)
    pad = (y1 - y0) * 0.12
    s.text(
        str(s.spec.get("slogan", "")), (x0 + pad * 2, y0 + pad, x1 - pad * 2, y1 - pad), s.col(ink), max_lines=2
    )


def sign(s: Scene, x: float, bottom: float, sw: float, sh: float) -> None:
    fill = s.rng.choice([(250, 250, 245), (255, 226, 90), (255, 170, 200)])
    s.rect((x - sw / 2, bottom - sh, x + sw / 2, bottom), s.col(fill))
    ink = s.col(s.spec.get("palette", "#7b2d8e")) if s.rng.random() < 0.5 else s.col((20, 20, 20))
    pad = sh * 0.1
    s.text(
        str(s.spec.get("slogan", "")),
        (x - sw / 2 + pad, bottom - sh + pad, x + sw / 2 - pad, bottom - pad),
        ink,
    )


def signs(s: Scene) -> None:
    """Cardboard signs on sticks above some heads, or planted in the ground if nobody is there."""
    holders = s.people if s.people else [(s.w * 0.75, s.foot_y - s.h * 0.45, s.h * 0.5, (s.w * 0.75, s.foot_y))]
    k = min(len(holders), max(2, len(holders) // 3), 8)
    for x, head_top, hgt, hand in s.rng.sample(holders, k):
        sw, sh = hgt * 0.6, hgt * 0.38
        bottom = head_top - hgt * 0.08
        s.stick(hand, (x, bottom - sh / 2), s.col("#6b4a2b"), max(2, hgt * 0.025))
        sign(s, x, bottom, sw, sh)


def candles(s: Scene) -> None:
    """A row of white candles with flames on the ground, glowing at night."""
    count = s.rng.randint(6, 11)
    cw, ch = s.u * 2.6, s.u * 6
    for i in range(count):
        x = s.w * (0.08 + 0.84 * (i + s.rng.uniform(0.2, 0.8)) / count)
        base = s.foot_y + s.rng.uniform(-0.02, 0.03) * s.h
        if s.night:
            s.glow(x, base - ch - cw, cw * 2.2, (255, 190, 90), 0.55)
        s.rect((x - cw / 2, base - ch, x + cw / 2, base), s.col("#f4efe1"), radius=cw * 0.2)
        s.ellipse((x - cw * 0.45, base - ch - cw * 1.6, x + cw * 0.45, base - ch + cw * 0.1), (255, 150, 30))
        s.ellipse((x - cw * 0.2, base - ch - cw * 0.9, x + cw * 0.2, base - ch), (255, 240, 150))


def flowers(s: Scene) -> None:
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
