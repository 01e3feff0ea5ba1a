"""Street primitives a second movement needs: a uniformed line, barriers, vehicles, trees and smoke stacks.

Like the rest of the vocabulary they are big and bold, so each survives the baseline's 64x64 view
as a silhouette and a colour field: dark uniforms with pale shields, red and white barrier boards,
boxy vehicles on wheels, green canopies on trunks, tall chimneys under grey plumes.
"""

from __future__ import annotations

from workbench_dagster.generation.elements import DEFAULT_SKIN_TONES, person
from workbench_dagster.generation.scene import Scene, lerp


def uniformed_line(s: Scene) -> None:
    """Officers shoulder to shoulder across the middle ground: one uniform, helmets, visors and shields."""
    hgt = s.h * 0.3
    base = s.h * s.horizon + s.h * 0.06
    uniform, helmet = s.col("#1c2640"), s.col("#0e1016")
    shield, rim, band = s.col("#c7d3df"), s.col("#5b6b7c"), s.col("#e4f03c")
    tones = s.spec.get("skin_tones") or DEFAULT_SKIN_TONES
    spacing = hgt * 0.46
    count = max(3, int(s.w * 0.92 / spacing))
    start = (s.w - spacing * count) / 2
    for i in range(count):
        x = start + (i + 0.5) * spacing + s.rng.uniform(-0.05, 0.05) * spacing
        head_top, _ = person(s, x, base, hgt, s.col(s.rng.choice(tones)), uniform, helmet)
        r = hgt * 0.11
        s.ellipse((x - r * 1.2, head_top - r * 0.1, x + r * 1.2, head_top + r * 1.1), helmet)
        s.rect((x - r * 0.9, head_top + r * 0.75, x + r * 0.9, head_top + r * 1.15), s.col("#8fb0c9"))
        sw = hgt * 0.2
        s.rect((x - sw * 1.05, base - hgt * 0.56, x + sw * 1.05, base - hgt * 0.5), band)
        s.rect((x - sw, base - hgt * 0.46, x + sw, base - hgt * 0.02), rim, radius=sw * 0.2)
        s.rect((x - sw * 0.82, base - hgt * 0.43, x + sw * 0.82, base - hgt * 0.05), shield, radius=sw * 0.15)


def barriers(s: Scene) -> None:
    """Crowd-control barrier boards in red and white stripes, on legs, across the foreground."""
    height = s.h * 0.1
    bottom = s.foot_y + s.h * 0.02
    top = bottom - height * 1.6
    red, white, leg = s.col("#d62828"), s.col("#f4f4f0"), s.col("#4a4e54")
    x, end = s.w * s.rng.uniform(0.0, 0.04), s.w * 0.98
    while x < end - s.w * 0.12:
        width = min(s.w * s.rng.uniform(0.2, 0.28), end - x)
        for lx in (x + width * 0.08, x + width * 0.92):
            s.stick((lx, top), (lx, bottom), leg, s.u * 1.2)
        stripes = 6
        for k in range(stripes):
            x0 = x + k * width / stripes
            s.rect((x0, top, x0 + width / stripes, top + height), red if k % 2 == 0 else white)
        x += width + s.w * s.rng.uniform(0.02, 0.05)


def vehicles(s: Scene) -> None:
    """One or two vans parked on the horizon: a boxy body, dark windows, a stripe and black wheels."""
    horizon = s.h * s.horizon
    sides = s.rng.sample([0.2, 0.8], s.rng.choice([1, 2]))
    for cx in sides:
        vw, vh = s.w * 0.3, s.h * 0.2
        base = horizon + s.h * 0.07
        x0, top = cx * s.w - vw / 2, base - vh
        body = s.col(s.rng.choice(["#f2f2f2", "#1d3557", "#e9c46a", "#d62828"]))
        stripe = s.col(s.rng.choice(["#1d6fd6", "#f77f00", "#2a9d8f"]))
        s.rect((x0, top, x0 + vw, base - vh * 0.12), body, radius=vh * 0.12)
        s.rect((x0 + vw * 0.06, top + vh * 0.12, x0 + vw * 0.94, top + vh * 0.42), s.col("#23303f"))
        s.rect((x0, top + vh * 0.52, x0 + vw, top + vh * 0.64), stripe)
        r = vh * 0.16
        for wx in (x0 + vw * 0.2, x0 + vw * 0.8):
            s.ellipse((wx - r, base - r * 1.9, wx + r, base), s.col("#111111"))
            s.ellipse((wx - r * 0.45, base - r * 1.4, wx + r * 0.45, base - r * 0.5), s.col("#9a9a9a"))
        if s.night:
            lamp = (x0 + vw * 0.97, top + vh * 0.7)
            s.glow(lamp[0], lamp[1], vh * 0.12, (255, 236, 170), 0.8)


def trees(s: Scene) -> None:
    """A row of trees on the horizon: brown trunks under round green canopies."""
    horizon = s.h * s.horizon
    count = s.rng.randint(3, 5)
    for i in range(count):
        x = s.w * (i + s.rng.uniform(0.3, 0.7)) / count
        th = s.h * s.rng.uniform(0.32, 0.42)
        base = horizon + s.h * 0.04
        s.rect((x - s.u * 1.6, base - th * 0.55, x + s.u * 1.6, base), s.col("#6b4226"))
        green = s.col(s.rng.choice(["#2d6a4f", "#40916c", "#52b788", "#1b4332"]))
        r = th * 0.28
        for dx, dy in ((-0.6, 0.1), (0.6, 0.1), (0.0, -0.35), (0.0, 0.2)):
            cx, cy = x + dx * r, base - th * 0.68 + dy * r
            s.ellipse((cx - r, cy - r, cx + r, cy + r), green)


def smoke_stacks(s: Scene) -> None:
    """Tall factory chimneys with white bands near the top, each under a drifting grey plume."""
    horizon = s.h * s.horizon
    for cx in s.rng.sample([0.12, 0.3, 0.7, 0.88], s.rng.choice([1, 2])):
        x, sw = cx * s.w, s.w * 0.055
        top = s.h * s.rng.uniform(0.08, 0.14)
        s.poly([(x - sw, horizon), (x - sw * 0.7, top), (x + sw * 0.7, top), (x + sw, horizon)], s.col("#8c3b2e"))
        for k in (0.06, 0.14):
            y = top + (horizon - top) * k
            s.rect((x - sw * 0.74, y, x + sw * 0.74, y + s.h * 0.02), s.col("#f1f1ee"))
        grey = s.col("#b8bcc2") if not s.night else (70, 74, 88)
        drift = s.rng.choice([-1, 1])
        for k in range(6):
            r = sw * (0.9 + k * 0.35)
            px, py = x + drift * k * sw * 0.9, top - r * 0.6 - k * sw * 0.5
            s.ellipse((px - r, py - r, px + r, py + r), lerp(grey, s.col("#e6e8ea"), k / 8))
