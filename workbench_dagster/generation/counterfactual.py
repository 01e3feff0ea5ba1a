"""Counterfactual pairs: a held-out spec redrawn from the same seed with exactly one attribute changed.

A model that labels a march differently when the marchers are drawn darker, or the sign speaks
Spanish, shows it on a pair of images that differ in nothing else. Every attribute registered here
owns the spec fields it may change (`Attribute.fields`); every other field and the seed stay as they
were, so the reference labels of the pair are equal, or change in the way the scenario says (a Spanish
flyer redrawn in English is a `flyer_en`). The original is redrawn too, byte for byte (same spec, same
seed: the same render-cache key and image hash), so its captions are cache hits and a batch holds
both sides of its pairs.

An attribute applies to a spec only where the change can be seen: with the procedural painter, where
the painter draws it (time of day is not drawn on a flyer, a location only in a flyer's place line);
with an image model, where the prompt changes. Skin tones are swapped within the palette the painter
draws from (same length, so the painter's random stream, and with it every position, is unchanged).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass

from workbench_dagster.generation.procedural import plan
from workbench_dagster.generation.skin_tones import PEOPLE_PRIMITIVES, swapped_skin_tone
from workbench_dagster.scenario.prompts import (
    Prompt,
    derive_seed,
    reference_caption,
    reference_labels,
    render_prompt,
)
from workbench_dagster.scenario.scenario_file import Scenario

CF_COLUMNS = ["cf_role", "pair_id", "original_image_id", "cf_attribute", "cf_from", "cf_to"]
TEXT_PRIMITIVES = {"flyer", "cartoon", "banners", "signs"}  # primitives that print the slogan


@dataclass(frozen=True)
class Change:
    spec: dict
    before: str
    after: str


@dataclass(frozen=True)
class Attribute:
    """One attribute a counterfactual changes: the spec fields it owns, whether the painter draws it,
    and the change itself (None where it cannot apply to a spec)."""

    name: str
    fields: tuple[str, ...]
    drawn: Callable[[set[str]], bool]  # given the primitives the painter draws for the spec
    change: Callable[[Scenario, dict, random.Random], Change | None]


def _skin_tone(scenario: Scenario, spec: dict, rng: random.Random) -> Change | None:
    """The same people in the other half of the scenario's palette (generation/skin_tones.py): everyone
    drawn changes tone group and nothing else moves. A spec of mixed tones has no such change."""
    swapped = swapped_skin_tone(scenario.demographics.get("skin_tones"), spec)
    if swapped is None:
        return None
    return Change(swapped, spec["skin_tone"], swapped["skin_tone"])


def _time_of_day(scenario: Scenario, spec: dict, rng: random.Random) -> Change | None:
    """Night for day and day for night (the painter knows only night and not night)."""
    times = sorted(scenario.times_of_day)
    before = spec["time_of_day"]
    others = [t for t in times if t != "night"]
    if "night" not in times or not others:
        return None
    after = "night" if before != "night" else others[0]
    return Change({**spec, "time_of_day": after}, before, after)


def _same_position(items: list, item, other: list):
    """The item at the same position in the other language's list (lists are translations in order)."""
    return other[items.index(item) % len(other)] if item in items and other else None


def _text_language(scenario: Scenario, spec: dict, rng: random.Random) -> Change | None:
    """The slogan (and a flyer's words) in another language; a scene bound to a language becomes its
    counterpart, whose labels differ as the scenario says."""
    slogans = scenario.movement.slogans
    before = spec["text_language"]
    others = sorted(lang for lang in slogans if lang != before)
    if before not in slogans or not others:
        return None
    after = rng.choice(others)
    new = {
        **spec,
        "text_language": after,
        "slogan": _same_position(slogans[before], spec["slogan"], slogans[after]),
    }
    if new["slogan"] is None:
        return None
    scene = scenario.scene_types[spec["scene_type"]]
    if scene.text_language is not None:
        twins = sorted(
            name
            for name, s in scenario.scene_types.items()
            if s.layout == scene.layout
            and s.text_language == after
            and spec["crowd_size"] in s.crowd_sizes
            and set(spec["visible_elements"]) <= set(s.elements)
        )
        if not twins:
            return None
        new["scene_type"] = twins[0]
    if "flyer" in spec:
        if before not in scenario.flyers or after not in scenario.flyers:
            return None
        old, text = scenario.flyers[before], scenario.flyers[after]
        new["flyer"] = {
            "heading": _same_position(old.headings, spec["flyer"]["heading"], text.headings),
            "when": _same_position(old.dates, spec["flyer"]["when"], text.dates),
            "demand_line": text.demand_line.format(demand=text.demands[spec["demand"]]),
            "place_line": text.place_line.format(place=text.places[spec["setting"]]),
        }
    return Change(new, before, after)


def _location(scenario: Scenario, spec: dict, rng: random.Random) -> Change | None:
    """Another of the scenario's locations, with its landmark (and a flyer's place line)."""
    others = [loc for loc in scenario.locations if loc.name != spec["setting"]]
    if not others:
        return None
    place = rng.choice(others)
    new = {**spec, "setting": place.name, "landmark": place.landmark}
    if "flyer" in spec:
        text = scenario.flyers[spec["text_language"]]
        new["flyer"] = {**spec["flyer"], "place_line": text.place_line.format(place=text.places[place.name])}
    return Change(new, spec["setting"], place.name)


def _crowd_size(scenario: Scenario, spec: dict, rng: random.Random) -> Change | None:
    """The head count moved to the far end of its crowd size's range: the same label, another crowd."""
    lo, hi = scenario.crowd_sizes[spec["crowd_size"]].range
    people = int(spec["people"])
    if lo == hi or people <= 0:
        return None
    after = lo if people - lo >= hi - people else hi
    return Change({**spec, "people": after}, str(people), str(after))


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute(
            "skin_tone", ("skin_tone", "skin_tones"), lambda drawn: bool(drawn & PEOPLE_PRIMITIVES), _skin_tone
        ),
        Attribute("time_of_day", ("time_of_day",), lambda drawn: "flyer" not in drawn, _time_of_day),
        Attribute(
            "text_language",
            ("text_language", "slogan", "scene_type", "flyer"),
            lambda drawn: bool(drawn & TEXT_PRIMITIVES),
            _text_language,
        ),
        Attribute("location", ("setting", "landmark", "flyer"), lambda drawn: "flyer" in drawn, _location),
        Attribute("crowd_size", ("people",), lambda drawn: "people" in drawn, _crowd_size),
    )
}


def attribute_problems(names: list[str] | None) -> list[tuple[tuple, str]]:
    """Config check of a counterfactual batch's `attributes`: known names, each once, at least one."""
    if names is None:
        return []
    if not names:
        return [(("attributes",), f"name at least one of: {', '.join(ATTRIBUTES)}")]
    problems = []
    for i, name in enumerate(names):
        if name not in ATTRIBUTES:
            problems.append(
                (("attributes", i), f"unknown attribute {name!r}; expected one of: {', '.join(ATTRIBUTES)}")
            )
        elif name in names[:i]:
            problems.append((("attributes", i), f"{name!r} is listed twice"))
    return problems


def counterfactual(
    scenario: Scenario, attribute: str, spec: dict, seed: int, painted: bool = True
) -> Change | None:
    """The spec with `attribute` changed, or None where the change would not show: with the painter
    (`painted`), where it draws the attribute; with an image model, where the prompt changes."""
    spec_attribute = ATTRIBUTES[attribute]
    if painted and not spec_attribute.drawn(set(plan(spec))):
        return None
    change = spec_attribute.change(scenario, spec, random.Random(seed))
    if change is None or change.spec == spec:
        return None
    if not painted and render_prompt(scenario, change.spec) == render_prompt(scenario, spec):
        return None
    return change


def _pick_pairs(
    scenario: Scenario,
    batch: str,
    source: list[Prompt],
    n_images: int,
    attributes: list[str],
    seed: int,
    painted: bool,
) -> list[tuple[int, str, Change]]:
    """Round robin over the attributes, each taking the next spec (in a seeded order) it applies to, until
    n_images are used; an original shared by several attributes costs one image."""
    order = list(range(len(source)))
    random.Random(derive_seed(seed, scenario.id, batch, "counterfactual")).shuffle(order)
    position = dict.fromkeys(attributes, 0)
    used: set[int] = set()
    pairs, budget, active = [], n_images, list(attributes)
    while active and budget > 0:
        for attribute in list(active):
            found = None
            while position[attribute] < len(order) and found is None:
                index = order[position[attribute]]
                position[attribute] += 1
                pair_seed = derive_seed(seed, scenario.id, batch, index, attribute)
                found = counterfactual(scenario, attribute, source[index].spec, pair_seed, painted)
                found = (index, attribute, found) if found else None
            cost = 1 + (found is not None and found[0] not in used)
            if found is None or cost > budget:
                active.remove(attribute)
                continue
            used.add(found[0])
            pairs.append(found)
            budget -= cost
    return pairs


def _row(prompt: Prompt, **values) -> dict:
    return {**prompt.as_row(), **dict.fromkeys(CF_COLUMNS), **values}


def counterfactual_rows(
    scenario: Scenario,
    batch: str,
    source: list[Prompt],
    n_images: int,
    attributes: list[str] | None,
    seed: int,
    painted: bool = True,
) -> list[dict]:
    """Prompt rows of a counterfactual batch: each original (a byte-identical redraw of the source image)
    followed by its counterfactuals. At most n_images rows; fewer when the source runs out of specs
    an attribute applies to (the row count says so)."""
    names = list(attributes or ATTRIBUTES)
    pairs = _pick_pairs(scenario, batch, source, n_images, names, seed, painted)
    rows, by_original = [], {}
    for index, attribute, change in pairs:
        by_original.setdefault(index, []).append((names.index(attribute), attribute, change))
    for index in sorted(by_original):
        original = source[index]
        original_id = f"{batch}-{original.index:05d}"
        rows.append(
            _row(
                original,
                image_id=original_id,
                batch=batch,
                cf_role="original",
                original_image_id=original.image_id,
            )
        )
        for _, attribute, change in sorted(by_original[index], key=lambda x: x[0]):
            image_id = f"{original_id}-{attribute}"
            rows.append(
                {
                    **_row(original, image_id=image_id, batch=batch),
                    "prompt": render_prompt(scenario, change.spec),
                    "spec_json": json.dumps(change.spec, sort_keys=True, ensure_ascii=False),
                    "reference_labels": reference_labels(scenario, change.spec),
                    "reference_caption": reference_caption(scenario, change.spec),
                    "cf_role": "counterfactual",
                    "pair_id": image_id,
                    "original_image_id": original_id,
                    "cf_attribute": attribute,
                    "cf_from": change.before,
                    "cf_to": change.after,
                }
            )
    for i, row in enumerate(rows):
        row["index"] = i
    return rows
