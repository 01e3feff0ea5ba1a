"""counterfactual_scores on planted models: one that loses its labels at night, one that ignores every
attribute, on a real counterfactual batch of the default scenario."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from tests.helpers import SCENARIO_FILE
from workbench_dagster.evaluation.counterfactual import SCORE_COLUMNS, counterfactual_scores, pair_outcomes
from workbench_dagster.generation.counterfactual import counterfactual_rows
from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.scenario.scenario_file import load_scenario

SEED = 7


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO_FILE)


@pytest.fixture(scope="module")
def prompts(scenario) -> pd.DataFrame:
    source = expand_batch(scenario, "b001", 160, SEED)
    rows = counterfactual_rows(scenario, "cf01", source, 90, ["time_of_day", "skin_tone", "text_language"], SEED)
    return pd.DataFrame(rows)


def _answers(prompts: pd.DataFrame, labels_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Captions with the planted labels, and caption vectors that are the labels' indicator (so two
    captions of the same labels have cosine 1)."""
    taxonomy = sorted({x for labels in prompts["reference_labels"] for x in labels} | {"other"})
    captions, vectors = [], []
    for row in prompts.to_dict("records"):
        labels = labels_of(row)
        captions.append(
            {"image_id": row["image_id"], "labels": labels, "caption": " ".join(labels), "parse_status": "ok"}
        )
        vector = np.array([1.0 if t in labels else 0.0 for t in taxonomy] + [0.1])
        vectors.append({"image_id": row["image_id"], "source": "caption", "vector": vector.tolist()})
    return pd.DataFrame(captions), pd.DataFrame(vectors)


def _night_blind(row: dict) -> list[str]:
    """Sees the reference by day; at night it loses every label on 70% of scenes (seeded by the scene's
    seed, which a pair shares, so only the night itself decides)."""
    night = json.loads(row["spec_json"])["time_of_day"] == "night"
    if night and random.Random(int(row["seed"])).random() < 0.7:
        return ["other"]
    return sorted(row["reference_labels"])


def _invariant(row: dict) -> list[str]:
    return sorted(row["reference_labels"])


def _by_attribute(df: pd.DataFrame) -> pd.DataFrame:
    assert list(df.columns) == SCORE_COLUMNS
    return df.set_index("attribute")


def test_a_model_blind_at_night_flips_on_time_of_day_beyond_chance(prompts):
    captions, vectors = _answers(prompts, _night_blind)
    df = _by_attribute(counterfactual_scores("night-blind", "cf01", prompts, captions, vectors, seed=SEED))
    time = df.loc["time_of_day"]
    assert time["n_reference_unchanged"] >= 15
    assert time["flip_rate"] > 0.5 and time["flip_rate_ci_low"] > 0.3
    assert time["flip_rate_ci_low"] <= time["flip_rate"] <= time["flip_rate_ci_high"]
    assert time["caption_shift"] > 0.3 and time["caption_shift_ci_low"] > 0
    # skin tone never changes day or night, so this model never flips on it
    assert df.loc["skin_tone", "flip_rate"] == 0.0 and df.loc["skin_tone", "flip_rate_ci_high"] == 0.0


def test_an_invariant_model_never_flips_and_keeps_its_recall(prompts):
    captions, vectors = _answers(prompts, _invariant)
    df = _by_attribute(counterfactual_scores("steady", "cf01", prompts, captions, vectors, seed=SEED))
    assert (df["flip_rate"] == 0).all() and (df["flip_rate_ci_high"] == 0).all()
    assert (df["recall_difference"].abs() < 1e-12).all()
    assert (df["caption_shift"].abs() < 1e-9).all()
    # a flyer redrawn in the other language changes its reference: those pairs are not flip candidates
    language = df.loc["text_language"]
    assert language["n_reference_unchanged"] < language["n_scored"]


def test_intervals_are_seeded(prompts):
    captions, vectors = _answers(prompts, _night_blind)
    a = counterfactual_scores("m", "cf01", prompts, captions, vectors, seed=SEED)
    b = counterfactual_scores("m", "cf01", prompts, captions, vectors, seed=SEED)
    c = counterfactual_scores("m", "cf01", prompts, captions, vectors, seed=SEED + 1)
    assert a.equals(b)
    assert not a["flip_rate_ci_low"].equals(c["flip_rate_ci_low"])


def test_failed_captions_are_counted_not_scored_and_few_pairs_give_no_rate(prompts):
    captions, vectors = _answers(prompts, _invariant)
    pairs = pair_outcomes(prompts, captions, vectors)
    broken = pairs[pairs["attribute"] == "skin_tone"]["image_id"].iloc[:3]
    captions.loc[captions["image_id"].isin(broken), "parse_status"] = "error"
    df = _by_attribute(counterfactual_scores("m", "cf01", prompts, captions, vectors, min_pairs=5, seed=SEED))
    skin = df.loc["skin_tone"]
    assert skin["n_failed"] == 3 and skin["n_scored"] == skin["n_pairs"] - 3
    few = _by_attribute(counterfactual_scores("m", "cf01", prompts, captions, vectors, min_pairs=10_000))
    assert few["flip_rate"].isna().all() and few["n_pairs"].gt(0).all()
    assert few["note"].str.contains("counts only").all()


def test_a_batch_without_pairs_gives_no_rows(scenario):
    plain = pd.DataFrame([p.as_row() for p in expand_batch(scenario, "b001", 4, SEED)])
    captions, vectors = _answers(plain.assign(cf_role=None), _invariant)
    assert counterfactual_scores("m", "b001", plain, captions, vectors).empty
