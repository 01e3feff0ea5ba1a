"""Slices on planted models: a model worse at night shows a significant night gap after Holm's correction,
a model with no gap shows none, and a small slice reports its count and no rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from workbench_dagster.evaluation.slice_attributes import MISSING, MIXED, attribute_frame, specs_of
from workbench_dagster.evaluation.slices import SLICE_COLUMNS, SliceScope, SliceSettings, holm, slice_scores
from workbench_dagster.scenario.batches import PROMPT_COLUMNS
from workbench_dagster.scenario.prompts import expand_batch

SCOPE = SliceScope("planted", "held_out", None, False, 1)
SETTINGS = SliceSettings(min_slice_images=20, n_permutations=400, n_boot=200, seed=5)


@pytest.fixture(scope="module")
def corpus():
    from tests.helpers import SCENARIO_FILE
    from workbench_dagster.scenario.scenario_file import load_scenario

    scenario = load_scenario(SCENARIO_FILE)
    prompts = pd.DataFrame([p.as_row() for p in expand_batch(scenario, "t", 300, seed=3)])
    attributes, dropped = attribute_frame(specs_of(prompts), scenario.demographics)
    return scenario, prompts, attributes, dropped


def _planted(prompts: pd.DataFrame, drop_day: float, drop_night: float, seed: int = 0) -> pd.DataFrame:
    """image_scores-like rows of a model that misses each true label with a chance set by the time of
    day, and never predicts a label that is not there: its F1 depends on nothing else."""
    rng = np.random.default_rng(seed)
    rows = []
    for image_id, spec, truth in prompts[["image_id", "spec_json", "reference_labels"]].itertuples(index=False):
        drop = drop_night if '"time_of_day": "night"' in spec else drop_day
        rows.append(
            {
                "batch": "t",
                "image_id": image_id,
                "reference_labels": list(truth),
                "labels": [label for label in truth if rng.random() >= drop],
                "caption_cosine": float(rng.uniform(0.4, 0.9)),
            }
        )
    return pd.DataFrame(rows)


def _scores(corpus, images: pd.DataFrame, settings=SETTINGS) -> pd.DataFrame:
    scenario, _, attributes, _ = corpus
    return slice_scores(SCOPE, images, attributes, scenario.label_ids, settings)


def test_attributes_come_from_the_specs_and_a_duplicate_counts_once(corpus):
    _, _, attributes, dropped = corpus
    columns = list(attributes.columns)
    assert columns[:6] == ["image_id", "scene_type", "setting", "time_of_day", "crowd_size", "text_language"]
    assert {"theme", "sentiment", "demand"} <= set(columns)
    assert dropped == {"landmark": "setting"}  # one landmark per location: the same slices
    assert not {"people", "visible_elements", "primitives", "flyer"} & set(columns)  # numbers, lists, text


def test_a_demographic_list_is_one_value_or_mixed():
    specs = {
        "a": {"people": {"skin_tones": ["#111", "#111"]}},
        "b": {"people": {"skin_tones": ["#111", "#222"]}},
        "c": {"x": 1},
    }
    frame, _ = attribute_frame(specs, demographics=["skin_tones"])
    assert list(frame["skin_tones"]) == ["#111", MIXED, "(none)"]
    assert "skin_tones" not in attribute_frame(specs)[0]  # not declared a demographic: a list, not a slice


def test_the_painters_palette_is_not_a_slice_but_its_tone_group_is():
    specs = {
        "a": {"skin_tone": "lighter", "skin_tones": ["#f1c27d", "#e0ac69"]},
        "b": {"skin_tone": "darker", "skin_tones": ["#8d5524", "#5c3a21"]},
        "c": {"scene_type": "flyer_es"},  # draws nobody: no tone
    }
    frame, _ = attribute_frame(specs, demographics=["skin_tones"])
    assert "skin_tones" not in frame
    assert list(frame["skin_tone"]) == ["lighter", "darker", "(none)"]


def test_a_model_worse_at_night_shows_a_significant_night_gap(corpus):
    df = _scores(corpus, _planted(corpus[1], drop_day=0.05, drop_night=0.5))
    night = df[df["attribute"] == "time_of_day"].set_index("value")
    assert night.loc["night", "gap_role"] == "low" and night.loc["day", "gap_role"] == "high"
    assert night.loc["day", "f1_micro"] - night.loc["night", "f1_micro"] == pytest.approx(
        night.iloc[0]["attribute_gap"]
    )
    assert night.iloc[0]["gap_p_adjusted"] <= 0.05 and bool(night.iloc[0]["gap_significant"])
    assert night.loc["night", "f1_micro_ci_high"] < night.loc["day", "f1_micro_ci_low"]
    significant = set(df.loc[df["gap_significant"].fillna(False).astype(bool), "attribute"])
    assert "time_of_day" in significant
    assert df["n_attributes_tested"].iloc[0] >= 10  # the correction paid for every attribute


def test_a_model_with_no_gap_shows_no_significant_gap(corpus):
    df = _scores(corpus, _planted(corpus[1], drop_day=0.25, drop_night=0.25))
    tested = df[df["gap_p_value"].notna()].drop_duplicates("attribute")
    assert len(tested) >= 10
    assert not tested["gap_significant"].astype(bool).any(), tested[["attribute", "gap_p_value", "gap_p_adjusted"]]
    assert (tested["gap_p_adjusted"] >= tested["gap_p_value"]).all()


def test_a_small_slice_reports_its_count_and_no_rate(corpus):
    df = _scores(
        corpus, _planted(corpus[1], 0.1, 0.1), SliceSettings(min_slice_images=40, n_permutations=99, n_boot=100)
    )
    small = df[df["n_images"] < 40]
    assert len(small) and not small["rated"].any()
    assert small[["f1_micro", "f1_micro_ci_low", "f1_macro", "hamming_loss", "caption_cosine"]].isna().all().all()
    assert small["label_recall"].isna().all()
    rated = df[df["rated"]]
    assert rated["f1_micro"].notna().all() and (rated["f1_micro_ci_low"] <= rated["f1_micro_ci_high"]).all()
    # an attribute with fewer than two rated values has no gap and is not among the tests
    untested = df.groupby("attribute")["rated"].sum() < 2
    assert df[df["attribute"].isin(untested[untested].index)]["gap_p_value"].isna().all()


def test_per_label_recall_matches_a_direct_count(corpus):
    images = _planted(corpus[1], 0.05, 0.5)
    df = _scores(corpus, images)
    row = df[(df["attribute"] == "time_of_day") & (df["value"] == "night")].iloc[0]
    night_ids = set(corpus[2].loc[corpus[2]["time_of_day"] == "night", "image_id"])
    night = images[images["image_id"].isin(night_ids)]
    k = list(row["labels"]).index("protest")
    hits = sum("protest" in p for t, p in zip(night["reference_labels"], night["labels"]) if "protest" in t)
    total = sum("protest" in t for t in night["reference_labels"])
    assert row["label_recall"][k] == pytest.approx(hits / total)
    assert row["label_recall_ci_low"][k] <= row["label_recall"][k] <= row["label_recall_ci_high"][k]


def test_the_same_seed_gives_the_same_table(corpus):
    images = _planted(corpus[1], 0.1, 0.3)
    pd.testing.assert_frame_equal(_scores(corpus, images), _scores(corpus, images))


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.2, 0.001]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))


def test_prompt_columns_are_what_the_fixture_builds(corpus):
    assert set(corpus[1].columns) <= set(PROMPT_COLUMNS)


def test_no_scored_image_or_no_spec_gives_an_empty_table(corpus):
    scenario, prompts, attributes, _ = corpus
    none = slice_scores(SCOPE, pd.DataFrame(), attributes, scenario.label_ids, SETTINGS)
    assert none.empty and list(none.columns) == list(SLICE_COLUMNS)
    landing, _ = attribute_frame(specs_of(prompts.assign(spec_json=None)))
    assert slice_scores(SCOPE, _planted(prompts, 0.1, 0.1), landing, scenario.label_ids, SETTINGS).empty


def test_images_without_the_field_are_a_slice_but_never_one_end_of_the_gap(corpus):
    """A flyer draws nobody: its `skin_tone` is missing, and comparing it with people's tones would
    measure the layout, not the tone."""
    df = _scores(corpus, _planted(corpus[1], 0.0, 0.6))
    tones = df[df["attribute"] == "skin_tone"]
    assert MISSING in set(tones["value"])  # reported as a slice
    ends = tones[tones["gap_role"].notna()]
    assert len(ends) == 2 and MISSING not in set(ends["value"])
