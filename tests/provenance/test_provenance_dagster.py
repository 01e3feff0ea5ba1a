"""The provenance stage materialized by Dagster on a tiny config: a generated batch and a landing batch of
planted camera images plus files that declare themselves generated; every table passes its expectations,
the Workbench's own images verify, the landing batch's generated files are flagged by a warning, and the
detector is trained and evaluated."""

from __future__ import annotations

import io

import dagster as dg
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from assets._shared.runner import register_batches
from tests.helpers import materialize_selected as materialize
from tests.helpers import write_config
from tests.provenance.test_detector import camera_like
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    folder = tmp_path_factory.mktemp("provenance")
    path = write_config(
        folder,
        batches=[{"id": "train", "n_images": 16}],
        models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}],
        provenance={"detector": {"min_per_class": 3, "epochs": 3}},
    )
    config = load_config(path)
    drop = config.landing_dir / "drop"
    drop.mkdir(parents=True)
    rng = np.random.default_rng(5)
    for i in range(12):
        (drop / f"camera_{i:02d}.png").write_bytes(camera_like(rng))
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a protest, Steps: 20, Seed: 4")
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), "purple").save(buffer, format="PNG", pnginfo=info)
    (drop / "from_a1111.png").write_bytes(buffer.getvalue())
    defs = build_definitions(config)
    instance = dg.DagsterInstance.ephemeral()
    register_batches(instance, config)
    for batch in ("train", "drop"):
        assert materialize(defs, instance, ["prompts", "synthetic_images"], batch).success
    yield config, defs, instance
    instance.dispose()


def _checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_image_provenance_verifies_own_images_and_flags_landing_ones(graph):
    _, defs, instance = graph
    own = materialize(defs, instance, ["image_provenance"], "train")
    assert own.success and _checks(own) == {
        "expectations": True,
        "own_images_verified": True,
        "landing_declared_generated": True,
    }
    table = own.output_for_node("image_provenance")
    assert set(table["provenance"]) == {"c2pa-verified"} and set(table["c2pa_state"]) == {"Trusted"}
    landed = materialize(defs, instance, ["image_provenance"], "drop")
    checks = _checks(landed)
    assert landed.success and checks["expectations"] and checks["own_images_verified"]
    assert checks["landing_declared_generated"] is False  # a warning: nothing downstream is held back
    table = landed.output_for_node("image_provenance").set_index("image_id")
    assert table["provenance"].value_counts().to_dict() == {"declared-camera": 12, "declared-synthetic": 1}
    assert table["flagged"].sum() == 1


def test_detector_and_its_evaluation_materialize(graph):
    _, defs, instance = graph
    for batch in ("train", "drop"):
        assert materialize(defs, instance, ["image_provenance"], batch).success
    result = materialize(defs, instance, ["ai_image_detector", "ai_detector_evaluation"])
    assert result.success and all(_checks(result).values())
    scores = result.output_for_node("ai_image_detector")
    assert len(scores) == 29 and set(scores["status"]) == {"scored"}
    evaluation = result.output_for_node("ai_detector_evaluation")
    assert set(evaluation["metric"]) >= {"roc_auc", "balanced_accuracy"} and (evaluation["n_camera"] > 0).all()
