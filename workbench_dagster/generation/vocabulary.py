"""What the procedural painter can draw: every primitive by name, the one registry a scenario is checked against.

A scenario element names the primitive that draws it, so a label it implies is true of the picture
by construction; a name outside this registry fails when the scenario loads, never silently at
paint time. Element primitives are painted in two stages around a layout's own figures: `back`
ones (scenery on the horizon) before the crowd, `front` ones (held or laid down) after it, each in
registry order. Layout primitives are drawn by a layout itself (procedural.py `LAYOUTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from workbench_dagster.generation import elements, street
from workbench_dagster.generation.scene import Scene


@dataclass(frozen=True)
class Primitive:
    name: str
    stage: Literal["back", "front", "layout"]
    draws: str  # what a person sees, for error messages and the README
    paint: Callable[[Scene], None] | None = None  # None: its layout draws it


_ALL = [
    Primitive("smoke_stacks", "back", "factory chimneys under grey plumes", street.smoke_stacks),
    Primitive("building", "back", "a row of buildings with windows on the horizon", elements.buildings),
    Primitive("trees", "back", "a row of trees on the horizon", street.trees),
    Primitive(
        "statue", "back", "a statue on a pedestal (the monument layout's centre piece)", elements.statue_element
    ),
    Primitive("vehicles", "back", "one or two vans parked on the horizon", street.vehicles),
    Primitive(
        "uniformed_line", "back", "a line of uniformed officers with helmets and shields", street.uniformed_line
    ),
    Primitive("signs", "front", "hand-held signs or placards with a slogan", elements.signs),
    Primitive("banners", "front", "a large banner with a slogan", elements.banners),
    Primitive("barriers", "front", "red and white barrier boards across the foreground", street.barriers),
    Primitive("candles", "front", "a row of lit candles on the ground", elements.candles),
    Primitive("flowers", "front", "flowers laid on the ground", elements.flowers),
    Primitive("people", "layout", "standing figures in varied clothing and the movement's colours"),
    Primitive("portrait", "layout", "one face and shoulders filling the frame"),
    Primitive("flyer", "layout", "a designed poster with the scenario's words"),
    Primitive("cartoon", "layout", "a drawn figure with a speech bubble"),
]
PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _ALL}
ELEMENT_PRIMITIVES: tuple[str, ...] = tuple(p.name for p in _ALL if p.paint is not None)


def element_primitive(name: str) -> Primitive:
    """The element primitive of that name; a clear error listing the vocabulary otherwise."""
    if name not in ELEMENT_PRIMITIVES:
        raise ValueError(f"unknown primitive {name!r}; the painter draws: {', '.join(ELEMENT_PRIMITIVES)}")
    return PRIMITIVES[name]
