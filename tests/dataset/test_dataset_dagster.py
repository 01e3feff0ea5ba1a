"""The dataset stage's per-batch assets materialized by Dagster: a generated batch gets quality and
balance rows whose table checks pass, and a landing batch holding a re-saved copy of one of its
images warns on the near-duplicate (and has no spec to balance)."""

from __future__ import annotations

import io

import dagster as dg
import numpy as np
from PIL import Image, ImageDraw

from assets._shared.runner import register_batches
from tests.helpers import materialize_selected, write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

ASSETS = ["prompts", "synthetic_images", "image_quality", "dataset_balance"]


def _checks(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (96, 72), (200, 200, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(10):
        x, y = int(rng.integers(0, 80)), int(rng.integers(0, 60))
        draw.rectangle((x, y, x + 20, y + 14), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return image


def _config(folder):
    return load_config(
        write_config(folder, batches=[{"id": "train", "n_images": 4}, {"id": "b001", "n_images": 10}])
    )


def test_a_generated_batch_has_quality_and_balance_rows_and_passes_its_checks(tmp_path):
    config = _config(tmp_path)
    defs = build_definitions(config)
    with dg.DagsterInstance.ephemeral() as instance:
        register_batches(instance, config)
        result = materialize_selected(defs, instance, ASSETS, "b001")
    assert result.success
    quality = result.output_for_node("image_quality")
    assert len(quality) == 10 and set(quality["status"]) == {"ok"}
    balance = result.output_for_node("dataset_balance")
    assert {"scene_type", "reference_labels", "demographics.gender"} <= set(balance["attribute"])
    checks = _checks(result)
    assert checks[("image_quality", "expectations")].passed
    assert checks[("dataset_balance", "expectations")].passed
    assert checks[("dataset_balance", "balanced")].passed  # 10 images drawn from the targets themselves


def test_a_landing_copy_warns_as_a_near_duplicate(tmp_path):
    config = _config(tmp_path)
    folder = config.landing_dir / "posts"
    folder.mkdir(parents=True)
    original = _picture(1)
    original.save(folder / "a.png")
    copy = io.BytesIO()
    original.save(copy, format="JPEG", quality=90)  # the same picture, re-encoded
    (folder / "a_copy.jpg").write_bytes(copy.getvalue())
    _picture(2).save(folder / "other.png")
    defs = build_definitions(config)
    with dg.DagsterInstance.ephemeral() as instance:
        register_batches(instance, config)
        result = materialize_selected(defs, instance, ASSETS, "posts")
    assert result.success  # the warnings stop nothing
    checks = _checks(result)
    warning = checks[("image_quality", "no_near_duplicates_in_batch")]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    quality = result.output_for_node("image_quality").set_index("image_id")
    copies = quality[quality["n_near_duplicates"] > 0]
    assert len(copies) == 2 and "other" not in " ".join(copies.index)
    balance = result.output_for_node("dataset_balance")
    assert set(balance["status"]) == {"no_spec"}
    assert checks[("dataset_balance", "balanced")].passed
