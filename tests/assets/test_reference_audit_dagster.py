"""reference_audit materialized by Dagster: its blocking check passes on the shipped scenario and fails a
batch whose scenario claims a label that nothing in the picture backs."""

from __future__ import annotations

import dagster as dg
import yaml

from assets._shared.runner import register_batches
from tests.helpers import materialize_selected, write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

AUDITED = ["prompts", "synthetic_images", "reference_audit"]


def _audit(folder, change=None):
    path = write_config(folder, batches=[{"id": "train", "n_images": 4}, {"id": "b001", "n_images": 12}])
    if change:
        scenario = folder / "atropia.yaml"
        data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
        change(data)
        scenario.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    config = load_config(path)
    defs = build_definitions(config)
    with dg.DagsterInstance.ephemeral() as instance:
        register_batches(instance, config)
        return materialize_selected(defs, instance, AUDITED, "b001")


def _check(result) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == "references_drawn")


def test_the_shipped_scenario_passes_the_audit(tmp_path):
    result = _audit(tmp_path)
    assert result.success
    assert _check(result).passed
    df = result.output_for_node("reference_audit")
    assert len(df) == 12 and set(df["status"]) == {"ok"}
    expectations = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "expectations" and e.asset_key == dg.AssetKey("reference_audit")
    )
    assert expectations.passed


def test_a_label_nothing_draws_fails_the_batch(tmp_path):
    def empty_gatherings(data):  # a crowd scene of nobody, still claiming a protest
        data["scene_types"]["gathering"].update(weight=50, crowd_sizes=["none"], labels=["protest"])

    result = _audit(tmp_path, empty_gatherings)
    assert not result.success
    check = _check(result)
    assert not check.passed and check.metadata["unbacked_images"].value > 0
    reasons = check.metadata["unbacked"].value
    assert any("protest: claimed through people, which the painter does not draw" in r for r in reasons)
