"""Checks that the procedural painter can honour a scenario: every element has a primitive that draws
it, and every flyer has its words in the file.

A scenario element the painter cannot draw used to be skipped at paint time, and the labels it
implies were still written as reference labels: ground truth that was not in the picture. A flyer
without its language's words printed English boilerplate. Both now fail when the file loads,
naming the YAML path and what the painter offers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench_dagster.generation.procedural import LAYOUTS
from workbench_dagster.generation.vocabulary import ELEMENT_PRIMITIVES
from workbench_dagster.scenario.scenario_checks import one_of, template_problems

if TYPE_CHECKING:
    from workbench_dagster.scenario.scenario_file import Scenario

Problems = list[tuple[tuple[str | int, ...], str]]


def _element_problems(scenario: Scenario) -> Problems:
    allowed = f"expected one of the painter's primitives: {one_of(ELEMENT_PRIMITIVES)}"
    problems: Problems = []
    for name, element in scenario.elements.items():
        if element.primitive is not None and element.primitive not in ELEMENT_PRIMITIVES:
            problems.append(
                (("elements", name, "primitive"), f"unknown primitive {element.primitive!r}; {allowed}")
            )
        elif element.primitive is None and name not in ELEMENT_PRIMITIVES:
            problems.append(
                (("elements", name), f"no primitive draws element {name!r}; name one with `primitive:`, {allowed}")
            )
    return problems


def flyer_languages(scenario: Scenario) -> dict[str, list[str]]:
    """Scene name -> the languages its flyers print (its text_language, or any slogan language)."""
    return {
        name: [scene.text_language] if scene.text_language else sorted(scenario.movement.slogans)
        for name, scene in scenario.scene_types.items()
        if scene.layout in LAYOUTS and LAYOUTS[scene.layout].subject == "flyer"
    }


def _mapping_problems(loc, mapping: dict[str, str], wanted: list[str], what: str, where: str) -> Problems:
    problems: Problems = [
        (loc, f"no wording for {what} {x!r}; expected one entry for each item of {where}")
        for x in wanted
        if x not in mapping
    ]
    problems += [
        ((*loc, x), f"unknown {what} {x!r}; expected one of {where}: {one_of(wanted)}")
        for x in mapping
        if x not in wanted
    ]
    return problems


def _flyer_problems(scenario: Scenario) -> Problems:
    problems: Problems = []
    written = sorted(scenario.flyers)
    for name, languages in flyer_languages(scenario).items():
        for lang in languages:
            if lang not in scenario.flyers:
                problems.append(
                    (
                        (
                            "scene_types",
                            name,
                            "text_language" if scenario.scene_types[name].text_language else "layout",
                        ),
                        f"a flyer in {lang!r} needs its words; expected flyers.{lang} with headings, dates, "
                        f"demands and places (written for: {one_of(written)})",
                    )
                )
    locations = [location.name for location in scenario.locations]
    for lang, text in scenario.flyers.items():
        loc = ("flyers", lang)
        if lang not in scenario.movement.slogans:
            problems.append(
                (
                    loc,
                    f"unknown language {lang!r}; expected one of movement.slogans: {one_of(sorted(scenario.movement.slogans))}",
                )
            )
        problems += _mapping_problems((*loc, "demands"), text.demands, scenario.demands, "demand", "demands")
        problems += _mapping_problems((*loc, "places"), text.places, locations, "place", "locations (their names)")
        problems += template_problems((*loc, "demand_line"), text.demand_line, frozenset({"demand"}))
        problems += template_problems((*loc, "place_line"), text.place_line, frozenset({"place"}))
    return problems


def painter_problems(scenario: Scenario) -> Problems:
    return _element_problems(scenario) + _flyer_problems(scenario)
