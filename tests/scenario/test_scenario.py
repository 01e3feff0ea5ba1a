import json
from pathlib import Path

import yaml

from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.scenario.scenario_file import load_scenario


def test_expansion_is_seeded_and_reproducible(scenario):
    first = [p.as_row() for p in expand_batch(scenario, "b001", 30, seed=5)]
    again = [p.as_row() for p in expand_batch(scenario, "b001", 30, seed=5)]
    other = [p.as_row() for p in expand_batch(scenario, "b001", 30, seed=6)]
    assert json.dumps(first, ensure_ascii=False) == json.dumps(again, ensure_ascii=False)
    assert first != other
    assert len({r["image_id"] for r in first}) == 30


def test_references_follow_from_the_spec(scenario):
    for prompt in expand_batch(scenario, "b", 200, seed=1):
        spec = prompt.spec
        assert set(prompt.reference_labels) <= set(scenario.label_ids)
        scene = scenario.scene_types[spec["scene_type"]]
        assert set(scene.labels) <= set(prompt.reference_labels)
        if "banners" in spec["visible_elements"]:
            assert "signs_banners" in prompt.reference_labels
            assert spec["slogan"] in prompt.reference_caption
        if spec["crowd_size"] == "small":
            assert "small_group" in prompt.reference_labels
        assert spec["setting"] in prompt.prompt and spec["setting"] in prompt.reference_caption


def test_every_taxonomy_label_occurs_in_a_default_sized_batch(scenario):
    seen = {label for p in expand_batch(scenario, "train", 160, seed=20261122) for label in p.reference_labels}
    assert seen == set(scenario.label_ids)


def test_a_second_scenario_file_works_unchanged(tmp_path: Path):
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "scenarios" / "atropia.yaml").read_text(encoding="utf-8")
    )
    data.update(id="marsland", country="Marsland", title="Marsland climate strikes")
    data["locations"] = [{"name": "Red City", "kind": "city", "landmark": "the dome"}]
    data["movement"]["slogans"] = {
        "en": ["CLIMATE JUSTICE"],
        "fr": ["JUSTICE CLIMATIQUE"],
        "es": ["JUSTICIA CLIMÁTICA"],
    }
    data["scene_types"]["flyer_es"]["text_language"] = "fr"
    words = {"headings": ["MARCH"], "dates": ["FRIDAY"], "demands": {d: d for d in data["demands"]}}
    data["flyers"] = {
        "en": {**words, "places": {"Red City": "Red City"}},
        "fr": {**words, "headings": ["MARCHE"], "places": {"Red City": "Ville Rouge"}},
    }
    path = tmp_path / "marsland.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    marsland = load_scenario(path)
    prompts = expand_batch(marsland, "m1", 20, seed=3)
    assert all("Red City" in p.prompt for p in prompts)
    assert all("Atropia" not in p.prompt for p in prompts)
