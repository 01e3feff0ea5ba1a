"""Model output parsing: strict JSON is ok, near-JSON is repaired, garbage is invalid with a reason."""

from __future__ import annotations

import json

import pytest

from workbench_dagster.captioning.parsing import AnswerBounds, caption_json_schema, parse_answer

IDS = ["protest", "signs_banners", "small_group", "flyer_es"]
NAMES = {
    "protest": "protest",
    "signs_banners": "signs or banners",
    "small_group": "small group of people",
    "flyer_es": "digital flyer in Spanish",
}


def test_strict_json_is_ok():
    parsed = parse_answer('{"labels": ["protest", "signs_banners"], "caption": "A march."}', IDS, NAMES)
    assert (parsed.parse_status, parsed.labels, parsed.caption, parsed.n_dropped_labels) == (
        "ok",
        ["protest", "signs_banners"],
        "A march.",
        0,
    )
    assert parsed.error is None


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"labels": ["protest"], "caption": "A march."}\n```',
        'Here you go: {"labels": ["protest"], "caption": "A march."} Hope this helps!',
        '{"labels": ["protest",], "caption": "A march.",}',
        "{'labels': ['protest'], 'caption': 'A march.'}",
        '{"labels": ["protest"], "caption": "A march."',  # cut off before the closing brace
    ],
)
def test_near_json_is_repaired(text):
    parsed = parse_answer(text, IDS, NAMES)
    assert parsed.parse_status == "repaired", parsed
    assert parsed.labels == ["protest"]
    assert parsed.caption == "A march."


def test_label_names_map_to_ids_case_insensitively():
    parsed = parse_answer(
        '{"labels": ["Signs or Banners", "PROTEST", "small group of people"], "caption": "x"}', IDS, NAMES
    )
    assert parsed.parse_status == "repaired"
    assert parsed.labels == ["signs_banners", "protest", "small_group"]


def test_labels_outside_taxonomy_are_dropped_and_counted():
    parsed = parse_answer('{"labels": ["protest", "riot", "tank"], "caption": "x"}', IDS, NAMES)
    assert parsed.labels == ["protest"]
    assert parsed.n_dropped_labels == 2
    assert parsed.parse_status == "repaired"


def test_duplicates_collapse():
    parsed = parse_answer('{"labels": ["protest", "Protest", "protest"], "caption": "x"}', IDS, NAMES)
    assert parsed.labels == ["protest"]


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "empty"),
        (None, "empty"),
        ("I cannot help with that.", "no JSON"),
        ('{"caption": "no labels here"}', "labels"),
        ('{"labels": ["protest"]}', "caption"),
        ('{"labels": ["protest"], "caption": "   "}', "caption"),
        ('[{"labels": ["protest"], "caption": "a"}, {"x": 1}]', "expected a JSON object"),
    ],
)
def test_invalid_answers_say_why(text, reason):
    parsed = parse_answer(text, IDS, NAMES)
    assert parsed.parse_status == "invalid"
    assert parsed.labels == [] and parsed.caption is None
    assert reason in parsed.error


def test_schema_enumerates_taxonomy_ids():
    schema = caption_json_schema(IDS)
    assert schema["properties"]["labels"]["items"]["enum"] == IDS
    assert set(schema["required"]) == {"labels", "caption"}


def answer(labels: list[str], caption: str) -> str:
    return json.dumps({"labels": labels, "caption": caption})


def test_an_answer_with_no_usable_label_is_invalid_not_repaired():
    parsed = parse_answer(answer(["riot", "tank"], "A march."), IDS, NAMES)
    assert (parsed.parse_status, parsed.labels, parsed.n_dropped_labels) == ("invalid", [], 2)
    assert "none of the 2 labels" in parsed.error


def test_an_empty_label_list_is_the_model_saying_none_apply():
    assert parse_answer(answer([], "An empty street."), IDS, NAMES).parse_status == "ok"


@pytest.mark.parametrize(
    "labels,caption,reason",
    [
        (["protest"] * 51, "A march.", "51 labels, over max_labels 50"),
        (["protest"], "word " * 500, "caption of 2499 characters, over max_caption_chars 2000"),
    ],
)
def test_answers_beyond_the_bounds_are_invalid_and_truncated(labels, caption, reason):
    parsed = parse_answer(answer(labels, caption), IDS, NAMES)
    assert parsed.parse_status == "invalid" and parsed.labels == []
    assert reason in parsed.error and "stored truncated" in parsed.error
    assert len(parsed.caption) <= 2000


def test_a_raw_answer_over_its_bytes_is_invalid_without_parsing():
    """200 KB of caption and 500 labels: once stored as `repaired` with zero labels (issue 13, finding 4)."""
    text = answer([f"junk_{i}" for i in range(500)], "x" * 200_000)
    parsed = parse_answer(text, IDS, NAMES)
    assert parsed.parse_status == "invalid" and "over max_raw_bytes 65536" in parsed.error


def test_bounds_are_per_model():
    tight = AnswerBounds(max_caption_chars=5, max_labels=1, max_raw_bytes=10_000)
    assert parse_answer(answer(["protest"], "A march."), IDS, NAMES, tight).parse_status == "invalid"
    assert parse_answer(answer(["protest"], "March"), IDS, NAMES, tight).parse_status == "ok"
