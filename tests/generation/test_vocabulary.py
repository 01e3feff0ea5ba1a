"""The painter's vocabulary against every shipped scenario: each element is drawn where it claims."""

import random
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from workbench_dagster.generation.procedural import LAYOUTS, paint, plan
from workbench_dagster.scenario.prompts import element_primitives, expand_batch, make_spec
from workbench_dagster.scenario.scenario_file import Layout, load_scenario
from workbench_dagster.storage.media import decode_image

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
W, H = 160, 120


def _scene_spec(scenario, scene: str) -> dict:
    for seed in range(2000):
        spec = make_spec(scenario, random.Random(seed))
        if spec["scene_type"] == scene:
            return spec
    raise AssertionError(f"no spec of scene {scene!r} in 2000 draws")


def _cases():
    """(scenario file, element, scene) for every element in every scene that adds it to the picture,
    plus each element on the scenario's crowd scene (or any scene with the crowd layout), by day and night."""
    for path in SHIPPED:
        scenario = load_scenario(path)
        crowd_scene = next((n for n, s in scenario.scene_types.items() if s.layout == "crowd"), None)
        for element in scenario.elements:
            primitive = scenario.element_primitive(element)
            scenes = [
                name
                for name, scene in scenario.scene_types.items()
                if element in scene.elements and LAYOUTS[scene.layout].subject != primitive
            ]
            for scene in dict.fromkeys([*scenes, crowd_scene or next(iter(scenario.scene_types))]):
                for time_of_day in ("day", "night"):
                    yield pytest.param(
                        path, element, scene, time_of_day, id=f"{path.stem}-{element}-{scene}-{time_of_day}"
                    )


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(decode_image(png).convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("path, element, scene, time_of_day", list(_cases()))
def test_every_shipped_element_changes_the_pixels_in_the_region_it_claims(path, element, scene, time_of_day):
    scenario = load_scenario(path)
    base = {**_scene_spec(scenario, scene), "time_of_day": time_of_day}
    others = [e for e in base["visible_elements"] if e != element]
    without = {**base, "visible_elements": others, "primitives": element_primitives(scenario, others)}
    with_it = {**base, "visible_elements": [*others, element]}
    with_it["primitives"] = element_primitives(scenario, with_it["visible_elements"])
    drawn = paint(with_it, W, H, seed=11)
    primitive = scenario.element_primitive(element)
    assert primitive in drawn.regions, f"{element} ({primitive}) drew nothing on {scene}"
    x0, y0, x1, y1 = drawn.regions[primitive]
    box = (slice(int(y0), int(np.ceil(y1))), slice(int(x0), int(np.ceil(x1))))
    changed = np.abs(_pixels(drawn.png) - _pixels(paint(without, W, H, seed=11).png)).sum(axis=2) > 30
    inside = changed[box].mean()
    assert inside > 0.08, f"{element} on {scene}: only {inside:.1%} of its region changed"
    ring = np.zeros_like(changed)
    ring[max(0, int(y0) - 2) : int(np.ceil(y1)) + 2, max(0, int(x0) - 2) : int(np.ceil(x1)) + 2] = True
    assert changed[~ring].mean() < 0.01, f"{element} on {scene} changed the picture outside its region"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_painter_draws_exactly_its_plan(path):
    """The audit reads `plan` instead of painting, so the plan must be what the painting shows."""
    scenario = load_scenario(path)
    for prompt in expand_batch(scenario, "plan", 80, seed=4):
        drawn = paint(prompt.spec, 96, 72, prompt.seed)
        assert set(drawn.regions) == set(plan(prompt.spec)), prompt.spec


def test_the_scenario_schema_offers_exactly_the_painters_layouts():
    assert set(get_args(Layout)) == set(LAYOUTS)
