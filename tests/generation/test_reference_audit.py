"""The reference audit names every reference label that no drawn primitive backs."""

import json
from pathlib import Path

import pandas as pd

from workbench_dagster.generation.reference_audit import audit_references, audit_spec, unbacked_reasons
from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.scenario.scenario_file import load_scenario

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def _tables(scenario, n=40, source="procedural"):
    prompts = pd.DataFrame(
        [{**p.as_row(), "source": source, "source_file": None} for p in expand_batch(scenario, "b1", n, seed=7)]
    )
    images = pd.DataFrame({"image_id": prompts["image_id"], "status": "ok"})
    return prompts, images


def test_every_reference_label_of_every_shipped_scenario_is_backed():
    for path in SHIPPED:
        scenario = load_scenario(path)
        audit = audit_references(scenario, *_tables(scenario, n=200))
        assert set(audit["status"]) == {"ok"}, unbacked_reasons(audit)[:5]
        assert all(list(a) == list(b) for a, b in zip(audit["backed_labels"], audit["reference_labels"]))


def test_a_label_whose_primitive_is_not_drawn_is_unbacked(scenario):
    prompts, images = _tables(scenario)
    march = prompts[prompts["spec_json"].str.contains('"scene_type": "march"')].index[0]
    spec = json.loads(prompts.loc[march, "spec_json"])
    prompts.loc[march, "spec_json"] = json.dumps({**spec, "people": 0})  # a march nobody attends
    audit = audit_references(scenario, prompts, images).set_index("image_id")
    row = audit.loc[prompts.loc[march, "image_id"]]
    assert row["status"] == "unbacked" and "protest" in list(row["unbacked_labels"])
    assert "protest: claimed through people, which the painter does not draw" in row["reason"]
    assert (audit.drop(index=row.name)["status"] == "ok").all()


def test_a_label_no_part_of_the_scenario_claims_is_unbacked(scenario):
    spec = expand_batch(scenario, "b1", 1, seed=3)[0].spec
    row = audit_spec(scenario, spec, ["illustration_cartoon"] if spec["layout"] != "cartoon" else ["flyer_es"])
    assert row["status"] == "unbacked"
    assert "no part of the scenario claims it for this spec" in row["reason"]


def test_an_element_whose_primitive_another_layout_owns_is_still_backed(scenario):
    """The monument draws its statue itself: the statue element's label rests on that drawing."""
    spec = next(p.spec for p in expand_batch(scenario, "b1", 200, seed=1) if p.spec["scene_type"] == "monument")
    row = audit_spec(scenario, spec, ["landmarks_buildings"])
    assert row["status"] == "ok" and "statue" in row["drawn_primitives"]


def test_images_not_drawn_by_the_painter_are_recorded_not_audited(scenario):
    prompts, images = _tables(scenario, n=6, source="diffusers")
    audit = audit_references(scenario, prompts, images)
    assert set(audit["status"]) == {"not_audited"} and audit["reason"].str.contains("diffusers").all()
    prompts, images = _tables(scenario, n=6)
    images.loc[0, "status"] = "failed"
    audit = audit_references(scenario, prompts, images)
    assert list(audit["status"]) == ["not_audited"] + ["ok"] * 5
    assert audit.loc[0, "reason"] == "no stored image" and len(audit) == len(prompts)
