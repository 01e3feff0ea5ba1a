"""Scenario mistakes fail at load, naming the file, the YAML path and what was expected (issue 12, item 4)."""

import random
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT, SCENARIO_FILE, write_config
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.generation import comments
from workbench_dagster.scenario import scenario_checks
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.prompts import _fields, expand_batch, make_spec
from workbench_dagster.scenario.scenario_file import load_scenario


def broken_scenario(tmp_path: Path, mutate) -> Path:
    """A copy of the shipped scenario with one mistake written into it."""
    data = yaml.safe_load(SCENARIO_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken_scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(WorkbenchConfigError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert "(top level)" not in message and "got dict" not in message and "got list" not in message
    assert "Value error" not in message and "KeyError" not in message
    return message


def test_a_comment_language_without_grammar_fails_at_load(tmp_path):
    path = broken_scenario(tmp_path, lambda d: d["comments"]["languages"].update(fr=0.2))
    message = load_error(path)
    assert "comments.languages.fr: language 'fr' has no grammar" in message
    for part in ("openers", "bodies", "closers"):
        assert f"comments.{part}.fr (written for: en, es)" in message


def test_grammar_for_a_language_that_is_not_a_comment_language_is_named(tmp_path):
    path = broken_scenario(tmp_path, lambda d: d["comments"]["bodies"].update(fe=["on demande {demand}"]))
    assert "comments.bodies.fe: unknown language 'fe'; expected one of comments.languages: en, es" in load_error(
        path
    )


def test_comments_using_a_slogan_need_slogans_in_their_language(tmp_path):
    def mutate(d):
        d["movement"]["slogans"].pop("en")
        d["scene_types"]["flyer_en"]["text_language"] = "es"

    message = load_error(broken_scenario(tmp_path, mutate))
    assert "comments.languages.en: comments in 'en' use {slogan}" in message and "expected one of: es" in message


def _set(path: str, value: str):
    """A mutation that writes `value` at a dotted path, list indices as integers."""

    def mutate(data):
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        for part in parents:
            data = data[part]
        data[last] = value

    return mutate


@pytest.mark.parametrize(
    "where,loc,allowed",
    [
        ("prompt_template", "prompt_template", scenario_checks.TEMPLATE_FIELDS),
        ("caption_template", "caption_template", scenario_checks.TEMPLATE_FIELDS),
        ("scene_types.monument.phrase", "scene_types.monument.phrase", scenario_checks.PHRASE_FIELDS),
        ("elements.banners.phrase", "elements.banners.phrase", scenario_checks.PHRASE_FIELDS),
        ("comments.openers.es.0", "comments.openers.es[0]", scenario_checks.COMMENT_FIELDS),
        ("comments.closers.en.2", "comments.closers.en[2]", scenario_checks.COMMENT_FIELDS),
    ],
)
def test_a_placeholder_typo_fails_at_load_with_the_allowed_placeholders(tmp_path, where, loc, allowed):
    message = load_error(broken_scenario(tmp_path, _set(where, "a view of {landmarc} today")))
    expected = ", ".join("{" + name + "}" for name in sorted(allowed))
    assert f"{loc}: unknown placeholder {{landmarc}}; expected one of: {expected}" in message


@pytest.mark.parametrize(
    "template,complaint",
    [
        ("a view of {landmark", "broken placeholder braces"),
        ("a view of {}", "unknown placeholder {}"),
        ("a view of {landmark.upper}", "placeholder {landmark.upper}: attribute or index access is not supported"),
        ("{crowd} people in {theme:d}", "cannot be formatted"),
    ],
)
def test_a_placeholder_the_code_cannot_fill_fails_at_load(tmp_path, template, complaint):
    message = load_error(broken_scenario(tmp_path, _set("scene_types.monument.phrase", template)))
    assert "scene_types.monument.phrase: " + complaint in message and "{landmark}" in message


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (
            _set("scene_types.march.labels", ["protest", "riot"]),
            "scene_types.march.labels[1]: unknown label 'riot'",
        ),
        (_set("elements.candles.labels", ["mourning"]), "elements.candles.labels[0]: unknown label 'mourning'"),
        (_set("crowd_sizes.small.labels", ["tiny"]), "crowd_sizes.small.labels[0]: unknown label 'tiny'"),
    ],
)
def test_every_implied_label_is_in_the_taxonomy(tmp_path, mutate, expected):
    message = load_error(broken_scenario(tmp_path, mutate))
    labels = [t["id"] for t in yaml.safe_load(SCENARIO_FILE.read_text(encoding="utf-8"))["taxonomy"]]
    assert f"{expected}; expected one of the taxonomy: {', '.join(labels)}" in message


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (
            lambda d: d["scene_types"]["march"]["elements"].update(placards=0.5),
            "scene_types.march.elements.placards: unknown element 'placards'; expected one of elements: "
            "banners, building, candles, flowers, signs, statue",
        ),
        (
            _set("scene_types.vigil.crowd_sizes", ["small", "huge"]),
            "scene_types.vigil.crowd_sizes[1]: unknown crowd size 'huge'; expected one of crowd_sizes: "
            "none, small, medium, large",
        ),
        (
            _set("scene_types.flyer_en.text_language", "fr"),
            "scene_types.flyer_en.text_language: no slogans in 'fr'; expected one of movement.slogans: en, es",
        ),
        (
            lambda d: d["scene_types"]["flyer_es"].update(text_languge="es"),
            "scene_types.flyer_es.text_languge: Extra inputs are not permitted",
        ),
        (_set("crowd_sizes.medium.range", [22, 10]), "crowd_sizes.medium.range: expected [low, high]"),
        (_set("times_of_day", {"day": 0, "night": 0}), "times_of_day: expected at least one entry"),
        (_set("comments.languages", {"es": 0, "en": 0}), "comments.languages: expected at least one entry"),
        (
            lambda d: d["comments"]["vocabulary"]["es"].update(demnad=["una ley"]),
            "comments.vocabulary.es.demnad: unknown field 'demnad'; expected one of the translated fields: "
            "demand, theme, sentiment",
        ),
        (_set("scene_types.march.elements.banners", 1.5), "scene_types.march.elements.banners: Input should be"),
        (lambda d: d["locations"][1].pop("landmark"), "locations[1].landmark: Field required"),
    ],
)
def test_a_reference_or_value_the_code_cannot_honour_is_named(tmp_path, mutate, expected):
    assert expected in load_error(broken_scenario(tmp_path, mutate))


def test_every_problem_is_reported_at_once(tmp_path):
    def mutate(d):
        d["prompt_template"] += " {landmarc}"
        d["comments"]["languages"]["fr"] = 0.1
        d["scene_types"]["march"]["labels"] = ["riot"]

    message = load_error(broken_scenario(tmp_path, mutate))
    assert "prompt_template: " in message and "comments.languages.fr: " in message
    assert "scene_types.march.labels[0]: " in message


def test_a_broken_scenario_stops_the_config_load_naming_the_scenario_file(tmp_path):
    path = write_config(tmp_path)
    scenario = tmp_path / "atropia.yaml"
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("a view of {landmark}", "a view of {landmarc}"), encoding="utf-8")
    with pytest.raises(WorkbenchConfigError) as caught:
        load_config(path)
    assert str(scenario) in str(caught.value) and "scene_types.monument.phrase: unknown placeholder" in str(
        caught.value
    )


def test_a_config_level_mistake_reads_without_top_level_or_value_error(tmp_path):
    path = write_config(tmp_path, batches=[{"id": "b1", "n_images": 2}, {"id": "b1", "n_images": 2}])
    with pytest.raises(WorkbenchConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and "  - batches: batch ids must be unique" in message
    assert "(top level)" not in message and "Value error" not in message


def test_the_declared_placeholders_are_the_values_the_code_formats_with(scenario):
    spec = make_spec(scenario, random.Random(1))
    assert set(_fields(scenario, spec)) == scenario_checks.TEMPLATE_FIELDS
    for lang in scenario.comments.languages:
        assert set(comments._values(scenario, spec, lang, random.Random(2))) == scenario_checks.COMMENT_FIELDS
    assert tuple(comments.SPEC_FIELDS) == scenario_checks.VOCABULARY_FIELDS
    copy = scenario.model_copy(deep=True)
    phrase = " ".join("{" + name + "}" for name in sorted(scenario_checks.PHRASE_FIELDS))
    copy.scene_types[spec["scene_type"]].phrase = phrase  # every phrase field is filled before the phrase
    assert _fields(copy, spec)["scene_phrase"] != phrase


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_expands_and_comments_in_each_language(path):
    scenario = load_scenario(path)
    prompts = expand_batch(scenario, "check", 40, seed=7)
    said = {}
    for prompt in prompts:
        for comment in comments.generate_comments(scenario, prompt.image_id, prompt.spec, 5, seed=7):
            said.setdefault(comment["lang"], []).append(comment["text"])
    assert set(said) == {lang for lang, weight in scenario.comments.languages.items() if weight > 0}
    for lang, texts in said.items():  # a sentence before the hashtags, never hashtags alone
        assert all(not text.startswith("#") for text in texts), lang
