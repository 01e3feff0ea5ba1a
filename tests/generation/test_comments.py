from collections import Counter
from pathlib import Path

from tests.helpers import png, write_config
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.generation import comments as comments_module
from workbench_dagster.generation.comments import generate_comments, images_to_comment
from workbench_dagster.generation.images import make_images
from workbench_dagster.scenario.batches import batch_prompts
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.storage.image_store import ImageStore


def first_spec(scenario):
    return expand_batch(scenario, "b001", 1, seed=1)[0].spec


def with_grammar(scenario, **changes):
    return scenario.model_copy(update={"comments": scenario.comments.model_copy(update=changes)})


def test_same_inputs_same_comments(scenario):
    spec = first_spec(scenario)
    first = generate_comments(scenario, "b001-00000", spec, 5, seed=7)
    assert generate_comments(scenario, "b001-00000", spec, 5, seed=7) == first
    assert generate_comments(scenario, "b001-00000", spec, 5, seed=8) != first
    assert generate_comments(scenario, "b001-00001", spec, 5, seed=7) != first


def test_shape_ids_hashtags_and_emojis(scenario):
    spec = first_spec(scenario)
    rows = generate_comments(scenario, "img-1", spec, 40, seed=1)
    assert [row["comment_id"] for row in rows] == [f"img-1-c{i}" for i in range(40)]
    for row in rows:
        assert row["image_id"] == "img-1"
        assert 1 <= len(row["hashtags"]) <= 2 and len(set(row["hashtags"])) == len(row["hashtags"])
        assert set(row["hashtags"]) <= set(scenario.movement.hashtags)
        assert 0 <= len(row["emojis"]) <= 2 and set(row["emojis"]) <= set(scenario.comments.emojis)
        assert all(tag in row["text"] for tag in row["hashtags"] + row["emojis"])
        assert "{" not in row["text"] and "}" not in row["text"]
    assert any(row["emojis"] for row in rows) and any(not row["emojis"] for row in rows)
    assert generate_comments(scenario, "img-1", spec, 0, seed=1) == []


def test_languages_follow_the_grammar_weights(scenario):
    spec = first_spec(scenario)
    counts = Counter(row["lang"] for row in generate_comments(scenario, "img", spec, 400, seed=2))
    assert set(counts) == set(scenario.comments.languages)
    assert 0.45 < counts["es"] / 400 < 0.65  # weight 0.55


def test_text_is_written_with_its_own_language_grammar(scenario):
    spec = first_spec(scenario)
    values = {"location": spec["setting"]}
    for row in generate_comments(scenario, "img", spec, 60, seed=3):
        openers = [o.format(**values) for o in scenario.comments.openers[row["lang"]]]
        assert any(row["text"].lower().startswith(o.lower()) for o in openers), row


def test_vocabulary_translates_the_spec_value(scenario):
    only_spanish = with_grammar(
        scenario, languages={"es": 1.0}, bodies={"es": ["exigimos {demand}"]}, closers={"es": ["{slogan}"]}
    )
    spec = {
        **first_spec(scenario),
        "demand": scenario.demands[1],
        "text_language": "en",
        "slogan": scenario.movement.slogans["en"][0],
    }
    rows = generate_comments(only_spanish, "img", spec, 10, seed=4)
    for row in rows:
        assert f"exigimos {scenario.comments.vocabulary['es']['demand'][1]}" in row["text"]
        assert scenario.movement.slogans["en"][0] not in row["text"]
    assert any(
        scenario.movement.slogans["es"][0] in row["text"] for row in rows
    )  # the slogan in the comment's language


def test_placeholders_come_from_the_spec(scenario):
    only_english = with_grammar(
        scenario,
        languages={"en": 1.0},
        openers={"en": ["In {location}"]},
        bodies={"en": ["{theme} and {sentiment}"]},
    )
    spec = {**first_spec(scenario), "setting": "Testville", "theme": "impunity", "sentiment": "hope"}
    for row in generate_comments(only_english, "img", spec, 5, seed=5):
        assert row["lang"] == "en" and row["text"].startswith("In Testville: impunity and hope")


def test_module_knows_no_scenario():
    source = Path(comments_module.__file__).read_text(encoding="utf-8")
    assert "Atropia" not in source and "NiUna" not in source


def test_only_stored_images_get_comments(tmp_path):
    config = load_config(write_config(tmp_path))
    folder = config.landing_dir / "drop"
    folder.mkdir(parents=True)
    (folder / "photo.png").write_bytes(png(1))
    (folder / "notes.txt").write_text("not an image")
    prompts = batch_prompts(config, "drop")
    images, _ = make_images(config, prompts, ImageStore(tmp_path / "store"), CallCache(tmp_path / "cache"))
    assert sorted(images["status"]) == ["failed", "ok"]
    rows = images_to_comment(prompts, images)
    assert [Path(r["source_file"]).name for r in rows] == ["photo.png"]
