"""Counterfactual pairs: each redraw differs from its original in exactly one attribute, and shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import SCENARIO_FILE, write_config
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.generation.counterfactual import ATTRIBUTES, counterfactual, counterfactual_rows
from workbench_dagster.generation.procedural import plan, render_image
from workbench_dagster.generation.skin_tones import PEOPLE_PRIMITIVES
from workbench_dagster.scenario.batches import PROMPT_COLUMNS, batch_prompts
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.prompts import expand_batch, reference_labels
from workbench_dagster.scenario.scenario_file import load_scenario

SEED = 20261122


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO_FILE)


@pytest.fixture(scope="module")
def source(scenario):
    return expand_batch(scenario, "b001", 48, SEED)


@pytest.fixture(scope="module")
def rows(scenario, source):
    return counterfactual_rows(scenario, "cf01", source, 40, None, SEED)


def _pairs(rows):
    by_id = {r["image_id"]: r for r in rows}
    return [(by_id[r["original_image_id"]], r) for r in rows if r["cf_role"] == "counterfactual"]


def test_every_attribute_gets_pairs_within_the_image_budget(rows):
    assert len(rows) <= 40
    assert len({r["image_id"] for r in rows}) == len(rows)
    assert {r["cf_attribute"] for r in rows if r["cf_role"] == "counterfactual"} == set(ATTRIBUTES)
    assert [r["index"] for r in rows] == list(range(len(rows)))


def test_each_pair_differs_in_exactly_its_attribute_with_the_same_seed(rows):
    for original, redraw in _pairs(rows):
        before, after = json.loads(original["spec_json"]), json.loads(redraw["spec_json"])
        owned = set(ATTRIBUTES[redraw["cf_attribute"]].fields)
        assert redraw["seed"] == original["seed"]
        assert {k: v for k, v in before.items() if k not in owned} == {
            k: v for k, v in after.items() if k not in owned
        }, redraw["pair_id"]
        assert any(before.get(k) != after.get(k) for k in owned), redraw["pair_id"]
        assert redraw["cf_from"] != redraw["cf_to"]
        assert redraw["pair_id"] == redraw["image_id"]


def test_originals_are_the_source_prompts_redrawn_byte_for_byte(rows, source):
    by_id = {p.image_id: p for p in source}
    originals = [r for r in rows if r["cf_role"] == "original"]
    assert originals
    for row in originals:
        src = by_id[row["original_image_id"]].as_row()
        assert (row["spec_json"], row["seed"], row["prompt"]) == (src["spec_json"], src["seed"], src["prompt"])
        assert row["reference_labels"] == src["reference_labels"]


def test_the_rendered_images_differ_and_originals_render_as_their_source(rows, source):
    by_id = {p.image_id: p for p in source}
    renders = {}

    def render(row):
        if row["image_id"] not in renders:
            renders[row["image_id"]] = render_image(json.loads(row["spec_json"]), 96, 72, int(row["seed"]))
        return renders[row["image_id"]]

    for original, redraw in _pairs(rows):
        assert render(original) != render(redraw), redraw["pair_id"]
    first = next(r for r in rows if r["cf_role"] == "original")
    src = by_id[first["original_image_id"]]
    assert render(first) == render_image(src.spec, 96, 72, src.seed)


def test_reference_labels_are_equal_or_change_as_the_scenario_says(rows, scenario):
    changed = []
    for original, redraw in _pairs(rows):
        after = json.loads(redraw["spec_json"])
        assert redraw["reference_labels"] == reference_labels(scenario, after)
        if redraw["reference_labels"] != original["reference_labels"]:
            changed.append(redraw)
    # only a language-bound scene (a flyer) changes its labels: flyer_es <-> flyer_en, nothing else
    for redraw in changed:
        assert redraw["cf_attribute"] == "text_language"
        labels = set(redraw["reference_labels"])
        assert labels & {"flyer_es", "flyer_en"} and len(labels) == 1


def test_skin_tone_moves_everyone_drawn_to_the_other_half_of_the_palette(scenario, source):
    palette = ("#f1c27d", "#e0ac69", "#c68642", "#8d5524", "#5c3a21")  # Atropia's, lightest first
    lighter, darker = ["#f1c27d", "#e0ac69"], ["#8d5524", "#5c3a21"]
    grouped = [p.spec for p in source if p.spec.get("skin_tone") in ("lighter", "darker")]
    assert grouped, "the source batch should hold people of one tone group"
    for spec in grouped:
        change = counterfactual(scenario, "skin_tone", spec, seed=1)
        assert change is not None and set(change.spec["skin_tones"]) <= set(palette)
        assert (change.spec["skin_tone"], change.spec["skin_tones"]) == (
            ("darker", darker) if spec["skin_tone"] == "lighter" else ("lighter", lighter)
        )
        assert (change.before, change.after) == (spec["skin_tone"], change.spec["skin_tone"])
        assert {k: v for k, v in change.spec.items() if k not in ("skin_tone", "skin_tones")} == {
            k: v for k, v in spec.items() if k not in ("skin_tone", "skin_tones")
        }
    mixed = next(p.spec for p in source if p.spec.get("skin_tone") == "mixed")
    assert mixed["skin_tones"] == list(palette)
    assert counterfactual(scenario, "skin_tone", mixed, seed=1) is None  # no group to move them out of


def test_only_a_spec_that_draws_people_names_a_skin_tone(source):
    for p in source:
        assert ("skin_tone" in p.spec) == bool(set(plan(p.spec)) & PEOPLE_PRIMITIVES), p.spec


def test_an_attribute_the_painter_does_not_draw_is_never_changed(scenario, source):
    flyer = next(p.spec for p in source if p.spec["layout"] == "flyer")
    crowd = next(p.spec for p in source if p.spec["layout"] == "crowd" and "flyer" not in plan(p.spec))
    assert counterfactual(scenario, "time_of_day", flyer, seed=1) is None  # a design has no night
    assert counterfactual(scenario, "location", crowd, seed=1) is None  # nothing drawn names the place
    assert counterfactual(scenario, "location", crowd, seed=1, painted=False) is not None  # the prompt does
    assert counterfactual(scenario, "skin_tone", crowd, seed=1, painted=False) is None  # prompts name no tone


def test_crowd_size_stays_inside_its_labels_range(scenario, source):
    for p in source:
        change = counterfactual(scenario, "crowd_size", p.spec, seed=1)
        if change:
            lo, hi = scenario.crowd_sizes[p.spec["crowd_size"]].range
            assert lo <= change.spec["people"] <= hi and change.spec["people"] != p.spec["people"]


def test_a_counterfactual_batch_expands_from_the_config(tmp_path: Path):
    path = write_config(
        tmp_path,
        batches=[
            {"id": "train", "n_images": 8},
            {"id": "b001", "n_images": 24},
            {
                "id": "cf01",
                "kind": "counterfactual",
                "source": "b001",
                "n_images": 12,
                "attributes": ["time_of_day"],
            },
        ],
    )
    config = load_config(path)
    df = batch_prompts(config, "cf01")
    assert list(df.columns) == PROMPT_COLUMNS and 0 < len(df) <= 12
    assert set(df["cf_attribute"].dropna()) == {"time_of_day"}
    assert df[df["cf_role"] == "original"]["original_image_id"].str.startswith("b001-").all()
    assert df.equals(batch_prompts(config, "cf01"))  # seeded: the same rows every time
    assert config.is_counterfactual_batch("cf01") and not config.is_counterfactual_batch("b001")
    assert batch_prompts(config, "b001")["cf_role"].isna().all()


@pytest.mark.parametrize(
    "batch, train, where, message",
    [
        ({"source": "train"}, "train", "batches[2].source", "training batch is not held out"),
        ({"source": "nope"}, "train", "batches[2].source", "not one of the batches"),
        ({}, "train", "batches[2].source", "needs the held-out batch"),
        ({"source": "b001", "attributes": ["hair"]}, "train", "batches[2].attributes[0]", "unknown attribute"),
        ({"source": "b001"}, "cf01", "baseline.train_batch", "is a counterfactual batch"),
    ],
)
def test_a_bad_counterfactual_batch_names_its_file_and_field(tmp_path: Path, batch, train, where, message):
    path = write_config(
        tmp_path,
        batches=[
            {"id": "train", "n_images": 8},
            {"id": "b001", "n_images": 8},
            {"id": "cf01", "kind": "counterfactual", "n_images": 6, **batch},
        ],
        baseline={"train_batch": train},
    )
    with pytest.raises(WorkbenchConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and where in str(error.value) and message in str(error.value)


def test_a_prompt_batch_refuses_counterfactual_fields(tmp_path: Path):
    path = write_config(
        tmp_path, batches=[{"id": "train", "n_images": 8}, {"id": "b001", "n_images": 8, "source": "train"}]
    )
    with pytest.raises(
        WorkbenchConfigError, match=r"batches\[1\]\.source: only a batch of `kind: counterfactual`"
    ):
        load_config(path)


def test_a_night_redraw_keeps_its_days_picture_in_place(rows):
    """Stars and lit windows draw from streams of their own, so night moves no person, building or sign:
    every primitive claims the same box by day and by night (and a skin swap changes no box either), but
    for those whose glow at night reaches further (candle flames, van lamps)."""
    from workbench_dagster.generation.procedural import paint

    glowing = {"candles", "vehicles"}
    checked = 0
    for original, redraw in _pairs(rows):
        if redraw["cf_attribute"] not in ("time_of_day", "skin_tone"):
            continue
        a = paint(json.loads(original["spec_json"]), 96, 72, int(original["seed"]))
        b = paint(json.loads(redraw["spec_json"]), 96, 72, int(redraw["seed"]))
        unlit = [name for name in a.regions if name not in glowing]
        assert unlit and {k: a.regions[k] for k in unlit} == {k: b.regions.get(k) for k in unlit}, redraw[
            "pair_id"
        ]
        checked += 1
    assert checked >= 8
