"""A scenario the painter cannot honour fails at load, naming the file, the YAML path and what is allowed."""

import random

from tests.scenario.test_scenario_validation import broken_scenario, load_error
from workbench_dagster.generation.procedural import plan
from workbench_dagster.generation.vocabulary import ELEMENT_PRIMITIVES
from workbench_dagster.scenario.prompts import make_spec, reference_labels
from workbench_dagster.scenario.scenario_file import load_scenario

PRIMITIVE_LIST = ", ".join(ELEMENT_PRIMITIVES)


def _police(data: dict, element: dict) -> None:
    data["taxonomy"].append({"id": "police_presence", "name": "police presence"})
    data["elements"]["police_line"] = element
    data["scene_types"]["march"]["elements"]["police_line"] = 0.5


def test_an_element_with_no_primitive_fails_at_load_with_the_vocabulary(tmp_path):
    path = broken_scenario(tmp_path, lambda d: _police(d, {"labels": ["police_presence"], "phrase": "police"}))
    message = load_error(path)
    assert "elements.police_line: no primitive draws element 'police_line'; name one with `primitive:`" in message
    assert f"expected one of the painter's primitives: {PRIMITIVE_LIST}" in message


def test_an_unknown_primitive_fails_at_load_with_the_vocabulary(tmp_path):
    element = {"labels": ["police_presence"], "phrase": "police", "primitive": "riot_police"}
    message = load_error(broken_scenario(tmp_path, lambda d: _police(d, element)))
    assert "elements.police_line.primitive: unknown primitive 'riot_police'; expected one of" in message
    assert PRIMITIVE_LIST in message


def test_an_element_named_after_a_primitive_is_drawn_and_backs_its_label(tmp_path):
    element = {"labels": ["police_presence"], "phrase": "police", "primitive": "uniformed_line"}
    scenario = load_scenario(broken_scenario(tmp_path, lambda d: _police(d, element)))
    specs = [make_spec(scenario, random.Random(i)) for i in range(300)]
    policed = [s for s in specs if "police_line" in s["visible_elements"]]
    assert policed and all("uniformed_line" in s["primitives"] and "uniformed_line" in plan(s) for s in policed)
    assert all("police_presence" in reference_labels(scenario, s) for s in policed)


def test_an_unknown_layout_fails_at_load_with_the_layouts(tmp_path):
    message = load_error(broken_scenario(tmp_path, lambda d: d["scene_types"]["march"].update(layout="mosaic")))
    assert "scene_types.march.layout" in message
    assert all(name in message for name in ("'crowd'", "'portrait'", "'flyer'", "'cartoon'", "'monument'"))


def test_a_flyer_language_without_its_words_fails_at_load(tmp_path):
    def french(data):
        data["movement"]["slogans"]["fr"] = ["PAS UNE DE PLUS"]
        data["scene_types"]["flyer_en"]["text_language"] = "fr"

    message = load_error(broken_scenario(tmp_path, french))
    assert "scene_types.flyer_en.text_language: a flyer in 'fr' needs its words; expected flyers.fr" in message
    assert "(written for: es, en)" in message or "(written for: en, es)" in message


def test_flyer_words_must_cover_every_demand_and_place(tmp_path):
    def partial(data):
        del data["flyers"]["es"]["demands"]["funding for shelters"]
        data["flyers"]["es"]["places"]["Atlantis"] = "Atlántida"
        data["flyers"]["es"]["demand_line"] = "EXIGIMOS: {demanda}"

    message = load_error(broken_scenario(tmp_path, partial))
    assert "flyers.es.demands: no wording for demand 'funding for shelters'" in message
    assert "flyers.es.places.Atlantis: unknown place 'Atlantis'; expected one of locations" in message
    assert "flyers.es.demand_line: unknown placeholder {demanda}; expected one of: {demand}" in message


def test_the_default_scenario_prints_its_spanish_flyers_in_spanish(scenario):
    specs = [make_spec(scenario, random.Random(i)) for i in range(300)]
    spanish = [s for s in specs if s["scene_type"] == "flyer_es"]
    assert spanish
    for spec in spanish:
        words = scenario.flyers["es"]
        assert spec["flyer"]["demand_line"] == f"EXIGIMOS: {words.demands[spec['demand']]}"
        assert spec["flyer"]["place_line"] == f"EN {words.places[spec['setting']]}"
        assert spec["flyer"]["heading"] in words.headings and spec["flyer"]["when"] in words.dates
    assert all("flyer" not in s for s in specs if s["layout"] != "flyer")
