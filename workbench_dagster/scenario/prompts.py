"""A scenario's seeded expansion into prompts, with the ground truth each prompt's spec implies.

Each prompt carries a structured spec, and the reference labels and reference caption follow
from that spec by construction, so they are ground truth without annotators. All chance comes
from seeds derived from (seed, scenario, batch, index), so a batch is the same on every run.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field

from workbench_dagster.generation.skin_tones import choose_skin_tone
from workbench_dagster.scenario.painter_checks import flyer_languages
from workbench_dagster.scenario.scenario_file import Scenario


@dataclass(frozen=True)
class Prompt:
    """One image to make: its prompt text, its spec, and the ground truth the spec implies."""

    image_id: str
    batch: str
    index: int
    prompt: str
    spec: dict
    reference_labels: list[str]
    reference_caption: str
    seed: int
    extra: dict = field(default_factory=dict)

    def as_row(self) -> dict:
        return {
            "image_id": self.image_id,
            "batch": self.batch,
            "index": self.index,
            "prompt": self.prompt,
            "spec_json": json.dumps(self.spec, sort_keys=True, ensure_ascii=False),
            "reference_labels": list(self.reference_labels),
            "reference_caption": self.reference_caption,
            "seed": self.seed,
        }


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts; Python's hash() is salted per process, so not that."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def element_primitives(scenario: Scenario, elements: list[str]) -> list[str]:
    """The painter's primitives that draw these scene elements, each once."""
    return list(dict.fromkeys(scenario.element_primitive(e) for e in elements))


def flyer_words(scenario: Scenario, rng: random.Random, spec: dict) -> dict:
    """The words a flyer prints besides slogan and hashtag, all from the scenario's text for its language."""
    text = scenario.flyers[spec["text_language"]]
    return {
        "heading": rng.choice(text.headings),
        "when": rng.choice(text.dates),
        "demand_line": text.demand_line.format(demand=text.demands[spec["demand"]]),
        "place_line": text.place_line.format(place=text.places[spec["setting"]]),
    }


def make_spec(scenario: Scenario, rng: random.Random) -> dict:
    scene_name = _weighted(rng, {k: v.weight for k, v in scenario.scene_types.items()})
    scene = scenario.scene_types[scene_name]
    location = rng.choice(scenario.locations)
    crowd_name = rng.choice(scene.crowd_sizes)
    lo, hi = scenario.crowd_sizes[crowd_name].range
    language = scene.text_language or rng.choice(sorted(scenario.movement.slogans))
    elements = [e for e in sorted(scene.elements) if rng.random() < scene.elements[e]]
    spec = {
        "scene_type": scene_name,
        "layout": scene.layout,
        "setting": location.name,
        "landmark": location.landmark,
        "crowd_size": crowd_name,
        "people": rng.randint(lo, hi),
        "time_of_day": _weighted(rng, scenario.times_of_day),
        "visible_elements": elements,
        "text_language": language,
        "slogan": rng.choice(scenario.movement.slogans[language]),
        "theme": rng.choice(scenario.themes),
        "demand": rng.choice(scenario.demands),
        "sentiment": rng.choice(scenario.sentiments),
        "palette": rng.choice(scenario.movement.colors),
        "hashtag": rng.choice(scenario.movement.hashtags),
        "primitives": element_primitives(scenario, elements),
    }
    if scene_name in flyer_languages(scenario):  # drawn last, so the other fields keep their values
        spec["flyer"] = flyer_words(scenario, rng, spec)
    spec.update(choose_skin_tone(scenario.demographics.get("skin_tones"), rng, spec))  # last, as the flyer
    return spec


def reference_labels(scenario: Scenario, spec: dict) -> list[str]:
    """Labels implied by construction, in taxonomy order."""
    implied = set(scenario.scene_types[spec["scene_type"]].labels)
    implied |= set(scenario.crowd_sizes[spec["crowd_size"]].labels)
    for element in spec["visible_elements"]:
        implied |= set(scenario.elements[element].labels)
    return [label for label in scenario.label_ids if label in implied]


def _fields(scenario: Scenario, spec: dict) -> dict:
    scene = scenario.scene_types[spec["scene_type"]]
    values = {
        "crowd": spec["people"],
        "slogan": spec["slogan"],
        "landmark": spec["landmark"],
        "location": spec["setting"],
        "country": scenario.country,
        "theme": spec["theme"],
        "demand": spec["demand"],
        "sentiment": spec["sentiment"],
        "time_of_day": spec["time_of_day"],
    }
    scene_phrase = scene.phrase.format(**values)
    parts = [scenario.elements[e].phrase.format(**values) for e in spec["visible_elements"]]
    values["scene_phrase"] = scene_phrase
    values["scene_phrase_cap"] = scene_phrase[:1].upper() + scene_phrase[1:]
    values["element_phrases"] = (", with " + ", ".join(parts)) if parts else ""
    return values


def reference_caption(scenario: Scenario, spec: dict) -> str:
    return scenario.caption_template.format(**_fields(scenario, spec))


def render_prompt(scenario: Scenario, spec: dict) -> str:
    return " ".join(scenario.prompt_template.format(**_fields(scenario, spec)).split())


def expand_batch(scenario: Scenario, batch: str, n_images: int, seed: int) -> list[Prompt]:
    """The same (scenario, batch, n, seed) always yields the same prompts, byte for byte."""
    prompts = []
    for index in range(n_images):
        image_seed = derive_seed(seed, scenario.id, batch, index)
        spec = make_spec(scenario, random.Random(image_seed))
        prompts.append(
            Prompt(
                image_id=f"{batch}-{index:05d}",
                batch=batch,
                index=index,
                prompt=render_prompt(scenario, spec),
                spec=spec,
                reference_labels=reference_labels(scenario, spec),
                reference_caption=reference_caption(scenario, spec),
                seed=image_seed,
            )
        )
    return prompts
