"""Skin tones as drawn: the spec chooses which of the scenario's tones the people in an image have.

The painter picks each figure's tone from `spec["skin_tones"]`; a spec that names a group of tones
(the lighter or the darker half of the scenario's palette, or all of it) says truthfully which tones
everyone drawn has, so slices and counterfactuals can ask about skin tone without looking at pixels.
Only a spec whose image draws people gets one: a flyer with nobody on it has no skin tone.
"""

from __future__ import annotations

import random

from workbench_dagster.generation.elements import DEFAULT_SKIN_TONES
from workbench_dagster.generation.procedural import plan
from workbench_dagster.generation.scene import luma, to_rgb

PEOPLE_PRIMITIVES = {"people", "portrait", "cartoon", "uniformed_line"}  # primitives that draw skin
GROUPS = ("lighter", "darker", "mixed")


def draws_people(spec: dict) -> bool:
    return bool(set(plan(spec)) & PEOPLE_PRIMITIVES)


def tone_groups(palette: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """The palette's lighter and darker halves (by luma; an odd middle tone only in `mixed`) and all of it."""
    tones = list(palette or DEFAULT_SKIN_TONES)
    order = sorted(tones, key=lambda t: -luma(to_rgb(t)))
    half = len(order) // 2
    return {"lighter": order[:half] or order, "darker": order[len(order) - half :] or order, "mixed": tones}


def choose_skin_tone(palette, rng: random.Random, spec: dict) -> dict:
    """`skin_tone` (the group) and `skin_tones` (the tones the painter draws from) for a spec that draws
    people; nothing for one that does not."""
    if not draws_people(spec):
        return {}
    group = rng.choice(GROUPS)
    return {"skin_tone": group, "skin_tones": tone_groups(palette)[group]}


def swapped_skin_tone(palette, spec: dict) -> dict | None:
    """The same people in the other half of the palette (lighter for darker and back); None for a
    spec whose people are of mixed tones or that names no group."""
    group = spec.get("skin_tone")
    if group not in ("lighter", "darker"):
        return None
    other = "darker" if group == "lighter" else "lighter"
    return {**spec, "skin_tone": other, "skin_tones": tone_groups(palette)[other]}
