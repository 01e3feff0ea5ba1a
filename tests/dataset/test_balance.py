"""Balance against known distributions: targets computed from the scenario by hand, batches drawn to
match them or planted off them, and the statistics against scipy and hand-worked values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench_dagster.dataset.balance import attribute_summary, dataset_balance, fit, holm
from workbench_dagster.dataset.targets import attributes, label_prevalence
from workbench_dagster.scenario.prompts import expand_batch


def _prompts(specs: list[dict], labels: list[list[str]] | None = None) -> pd.DataFrame:
    labels = labels or [[] for _ in specs]
    return pd.DataFrame(
        {
            "image_id": [f"i{n}" for n in range(len(specs))],
            "spec_json": [json.dumps(s) for s in specs],
            "reference_labels": labels,
        }
    )


def test_targets_follow_the_scenario_declarations(scenario):
    targets = {a.name: a for a in attributes(scenario)}
    weights = {name: s.weight for name, s in scenario.scene_types.items()}
    total = sum(weights.values())
    assert targets["scene_type"].target == pytest.approx({k: v / total for k, v in weights.items()})
    assert targets["time_of_day"].target == pytest.approx({"day": 0.6, "night": 0.4})
    assert targets["location"].source.startswith("uniform") and set(targets["location"].target.values()) == {0.2}
    # flyer_es and flyer_en fix their language (2/15 each); the other 11/15 draw es or en evenly
    assert targets["text_language"].target == pytest.approx({"es": 2 / 15 + 11 / 30, "en": 2 / 15 + 11 / 30})
    # protest comes from march alone (weight 3 of 15); small_group from vigil, gathering and monument's
    # one small crowd size out of two: (2 + 1 + 2 * 0.5) / 15
    prevalence = label_prevalence(scenario)
    assert prevalence["protest"] == pytest.approx(3 / 15)
    assert prevalence["small_group"] == pytest.approx(4 / 15)
    assert targets["demographics.gender"].target == pytest.approx({"men": 0.30, "nonbinary": 0.08, "women": 0.62})
    assert targets["demographics.skin_tones"].source.startswith("uniform")


def test_the_label_targets_match_a_large_generated_batch(scenario):
    """Exact targets against 3000 images the generator draws: every label within sampling error."""
    prompts = pd.DataFrame([p.as_row() for p in expand_batch(scenario, "big", 3000, 5)])
    balance = dataset_balance(scenario, prompts, "big", max_js=0.2, alpha=0.01)
    labels = balance[balance["attribute"] == "reference_labels"]
    se = np.sqrt(labels["target_share"] * (1 - labels["target_share"]) / 3000)
    assert (abs(labels["observed_share"] - labels["target_share"]) < 4 * se).all()
    summary = attribute_summary(balance).set_index("attribute")
    assert not summary["exceeds"].any()
    assert (summary.loc[summary["status"] == "ok", "js_distance"] < 0.05).all()


def test_a_planted_skew_exceeds_and_a_balanced_batch_does_not(scenario):
    days = [{"time_of_day": "day"} for _ in range(60)]
    skewed = attribute_summary(dataset_balance(scenario, _prompts(days), "b", 0.2, 0.01)).set_index("attribute")
    assert skewed.loc["time_of_day", "exceeds"]
    assert skewed.loc["time_of_day", "p_value"] < 1e-6 and skewed.loc["time_of_day", "p_adjusted"] < 1e-5
    even = [{"time_of_day": "day" if n < 36 else "night"} for n in range(60)]  # exactly 0.6 / 0.4
    fine = attribute_summary(dataset_balance(scenario, _prompts(even), "b", 0.2, 0.01)).set_index("attribute")
    assert fine.loc["time_of_day", "js_distance"] == pytest.approx(0.0, abs=1e-9)
    assert not fine.loc["time_of_day", "exceeds"]
    # too small to tell: far off, but 4 images give no significance, so no warning
    few = attribute_summary(dataset_balance(scenario, _prompts(days[:4]), "b", 0.2, 0.01)).set_index("attribute")
    assert few.loc["time_of_day", "js_distance"] > 0.2 and not few.loc["time_of_day", "exceeds"]


def test_fit_against_scipy_and_by_hand():
    counts, target = np.array([30.0, 10.0, 20.0]), np.array([0.5, 0.25, 0.25])
    js, chi, dof, p = fit(counts, target, 60, multi=False)
    expected = stats.chisquare(counts, 60 * target)
    assert chi == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue) and dof == 2
    from scipy.spatial.distance import jensenshannon

    assert js == pytest.approx(jensenshannon(counts / 60, target, base=2))
    # several values per image: each value a binomial term, (o - n p)^2 / (n p (1 - p))
    js, chi, dof, p = fit(np.array([50.0, 14.0]), np.array([0.5, 0.1]), 100, multi=True)
    assert chi == pytest.approx(0.0 + (14 - 10) ** 2 / (100 * 0.1 * 0.9)) and dof == 2
    assert p == pytest.approx(stats.chi2.sf(chi, 2))
    # expected counts under 5: simulated, close to the exact p (4 of 4 on one side of a fair coin: 2/16),
    # where the chi-square distribution would say 0.046
    assert fit(np.array([4.0, 0.0]), np.array([0.5, 0.5]), 4, multi=False)[3] == pytest.approx(0.125, abs=0.02)
    # a value the target rules out makes the fit impossible
    assert fit(np.array([3.0, 1.0]), np.array([1.0, 0.0]), 4, multi=False)[3] == 0.0


def test_holm_adjusts_over_the_attributes_of_a_batch():
    assert holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(holm([0.01, float("nan")])[1])


def test_demographics_not_in_the_spec_are_not_recorded_and_a_landing_batch_has_no_spec(scenario):
    balance = dataset_balance(scenario, _prompts([{"time_of_day": "day"}]), "b", 0.2, 0.01)
    gender = balance[balance["attribute"] == "demographics.gender"]
    assert set(gender["status"]) == {"not_recorded"} and gender["js_distance"].isna().all()
    recorded = [{"demographics": {"gender": ["women", "women", "men"]}} for _ in range(10)]
    per_person = dataset_balance(scenario, _prompts(recorded), "b", 0.2, 0.01)
    gender = per_person[per_person["attribute"] == "demographics.gender"].set_index("value")
    assert gender.loc["women", "observed_count"] == 20 and gender.loc["women", "n"] == 30  # counted per person
    landing = pd.DataFrame({"image_id": ["l1"], "spec_json": [None], "reference_labels": [[]]})
    rows = dataset_balance(scenario, landing, "l", 0.2, 0.01)
    assert set(rows["status"]) == {"no_spec"} and not rows["exceeds"].any()


def test_a_counterfactual_batch_is_balanced_over_its_originals(scenario):
    specs = [{"time_of_day": "day"}, {"time_of_day": "night"}, {"time_of_day": "night"}]
    prompts = _prompts(specs).assign(cf_role=["original", "counterfactual", None])
    balance = dataset_balance(scenario, prompts, "cf", 0.2, 0.01)
    assert attribute_summary(balance).set_index("attribute").loc["time_of_day", "n"] == 2
