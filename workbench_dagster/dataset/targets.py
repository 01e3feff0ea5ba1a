"""What the scenario says a batch should look like: the target distribution of every spec attribute and
reference label, each with where it comes from.

A scenario declares weights for some attributes (scene types, times of day, demographics) and none for
others (locations, themes, demands, ...), which the generator draws uniformly: there the target is
uniform over the attribute's values, and `source` says so. Attributes that follow from others (the
crowd size a scene allows, a flyer's language, the elements a scene may show, the reference labels)
get the distribution those declarations imply, computed exactly from the file, not sampled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workbench_dagster.scenario.scenario_file import Scenario

UNIFORM = "uniform: the scenario declares no weights"


@dataclass(frozen=True)
class Attribute:
    """One attribute to balance. `multi`: an image may hold several values (elements, labels), so the
    target is each value's prevalence (share of images holding it), not a share of one draw."""

    name: str
    target: dict[str, float]
    source: str
    observe: Callable[[dict, list[str]], object] | None  # (spec, reference labels) -> value(s); None: not drawn
    multi: bool = False
    unit: str = "image"


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = float(sum(weights.values()))
    return {k: float(v) / total for k, v in sorted(weights.items())}


def _uniform(values) -> dict[str, float]:
    values = sorted(set(values))
    return {v: 1.0 / len(values) for v in values}


def scene_shares(scenario: Scenario) -> dict[str, float]:
    return _normalised({name: scene.weight for name, scene in scenario.scene_types.items()})


def _languages(scenario: Scenario) -> dict[str, float]:
    """A scene with a fixed `text_language` prints it; the others draw a slogan language uniformly."""
    shares: dict[str, float] = {}
    free = sorted(scenario.movement.slogans)
    for name, p in scene_shares(scenario).items():
        fixed = scenario.scene_types[name].text_language
        for lang in [fixed] if fixed else free:
            shares[lang] = shares.get(lang, 0.0) + p / (1 if fixed else len(free))
    return dict(sorted(shares.items()))


def _crowds(scenario: Scenario) -> dict[str, float]:
    shares = dict.fromkeys(sorted(scenario.crowd_sizes), 0.0)
    for name, p in scene_shares(scenario).items():
        allowed = scenario.scene_types[name].crowd_sizes
        for crowd in allowed:
            shares[crowd] += p / len(allowed)
    return shares


def _slogans(scenario: Scenario) -> dict[str, float]:
    shares: dict[str, float] = {}
    for lang, p in _languages(scenario).items():
        options = scenario.movement.slogans[lang]
        for slogan in options:
            shares[slogan] = shares.get(slogan, 0.0) + p / len(options)
    return dict(sorted(shares.items()))


def _elements(scenario: Scenario) -> dict[str, float]:
    """Each element is drawn independently with its scene's probability."""
    shares = dict.fromkeys(sorted(scenario.elements), 0.0)
    for name, p in scene_shares(scenario).items():
        for element, chance in scenario.scene_types[name].elements.items():
            shares[element] += p * chance
    return shares


def label_prevalence(scenario: Scenario) -> dict[str, float]:
    """The share of images each reference label should hold (prompts.reference_labels): a label comes
    from the scene, or from its crowd size (uniform over the scene's), or from any of its elements
    (each independent), so P(label | scene) = 1 - (1 - P(crowd)) * prod(1 - P(element))."""
    prevalence = dict.fromkeys(scenario.label_ids, 0.0)
    for name, p in scene_shares(scenario).items():
        scene = scenario.scene_types[name]
        for label in scenario.label_ids:
            if label in scene.labels:
                prevalence[label] += p
                continue
            crowds = [c for c in scene.crowd_sizes if label in scenario.crowd_sizes[c].labels]
            absent = 1.0 - len(crowds) / len(scene.crowd_sizes)
            for element, chance in scene.elements.items():
                if label in scenario.elements[element].labels:
                    absent *= 1.0 - chance
            prevalence[label] += p * (1.0 - absent)
    return prevalence


def _field(name: str) -> Callable[[dict, list[str]], object]:
    return lambda spec, labels: spec.get(name)


def _demographic(key: str) -> Callable[[dict, list[str]], object]:
    """A depicted person's attribute as the spec records it, `spec["demographics"][key]`: one value, or
    one per person. No generator writes it yet, so today every demographic is `not_recorded`. A top-level
    `skin_tones` (a counterfactual spec's) is the palette the painter draws from, not who was drawn,
    so it is not read as an observation."""

    def observe(spec: dict, labels: list[str]):
        recorded = spec.get("demographics")
        return recorded.get(key) if isinstance(recorded, dict) else None

    return observe


def _demographics(scenario: Scenario) -> list[Attribute]:
    out = []
    for key, declared in sorted(scenario.demographics.items()):
        if isinstance(declared, dict):
            target, source = _normalised(declared), f"declared: demographics.{key}"
        else:
            target, source = _uniform(declared), f"{UNIFORM} (demographics.{key} lists values only)"
        out.append(Attribute(f"demographics.{key}", target, source, _demographic(key), unit="person"))
    return out


def attributes(scenario: Scenario) -> list[Attribute]:
    """Every attribute the spec records and every demographic the scenario declares, with its target."""
    implied = "implied by the scene weights"
    return [
        Attribute("scene_type", scene_shares(scenario), "declared: scene_types.*.weight", _field("scene_type")),
        Attribute("location", _uniform(loc.name for loc in scenario.locations), UNIFORM, _field("setting")),
        Attribute(
            "time_of_day",
            _normalised(scenario.times_of_day),
            "declared: times_of_day",
            _field("time_of_day"),
        ),
        Attribute(
            "crowd_size", _crowds(scenario), f"{implied}, uniform over a scene's crowd_sizes", _field("crowd_size")
        ),
        Attribute(
            "text_language",
            _languages(scenario),
            f"{implied}: a scene's text_language, else uniform over the slogan languages",
            _field("text_language"),
        ),
        Attribute("slogan", _slogans(scenario), "implied by text_language, uniform within it", _field("slogan")),
        Attribute("theme", _uniform(scenario.themes), UNIFORM, _field("theme")),
        Attribute("demand", _uniform(scenario.demands), UNIFORM, _field("demand")),
        Attribute("sentiment", _uniform(scenario.sentiments), UNIFORM, _field("sentiment")),
        Attribute("palette", _uniform(scenario.movement.colors), UNIFORM, _field("palette")),
        Attribute("hashtag", _uniform(scenario.movement.hashtags), UNIFORM, _field("hashtag")),
        Attribute(
            "visible_elements",
            _elements(scenario),
            f"{implied} and each scene's element probabilities",
            _field("visible_elements"),
            multi=True,
        ),
        Attribute(
            "reference_labels",
            label_prevalence(scenario),
            f"{implied}, crowd sizes and element probabilities",
            lambda spec, labels: labels,
            multi=True,
        ),
        *_demographics(scenario),
    ]
