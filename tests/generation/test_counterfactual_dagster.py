"""A counterfactual batch through the real graph: its originals come from the render cache as the very
images of the source batch, the baseline captions both sides, and counterfactual_scores has a row per
attribute with its blocking expectations passed."""

from __future__ import annotations

import dagster as dg

from assets._shared.runner import register_batches
from tests.helpers import materialize_selected, write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

PER_BATCH = ["prompts", "synthetic_images", "synthetic_comments"]
PER_MODEL = ["mllm_captions", "preprocessed_text", "embeddings", "counterfactual_scores"]


def test_a_counterfactual_batch_flows_to_counterfactual_scores(tmp_path):
    path = write_config(
        tmp_path,
        batches=[
            {"id": "train", "n_images": 8},
            {"id": "b001", "n_images": 16},
            {"id": "cf01", "kind": "counterfactual", "source": "b001", "n_images": 14, "min_pairs": 1},
        ],
        models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}],
    )
    config = load_config(path)
    defs = build_definitions(config)
    with dg.DagsterInstance.ephemeral() as instance:
        register_batches(instance, config)
        images = {}
        for batch in ("train", "b001", "cf01"):
            result = materialize_selected(defs, instance, PER_BATCH, batch, raise_on_error=True)
            images[batch] = result.output_for_node("synthetic_images")
        prompts = result.output_for_node("prompts")
        assert materialize_selected(defs, instance, ["baseline_models"], raise_on_error=True).success
        key = dg.MultiPartitionKey({"batch": "cf01", "model": "base-a"})
        result = materialize_selected(defs, instance, PER_MODEL, key, raise_on_error=True)

    originals = prompts[prompts["cf_role"] == "original"]
    source_sha = dict(zip(images["b001"]["image_id"], images["b001"]["sha256"]))
    cf_sha = dict(zip(images["cf01"]["image_id"], images["cf01"]["sha256"]))
    for image_id, source_id in zip(originals["image_id"], originals["original_image_id"]):
        assert cf_sha[image_id] == source_sha[source_id]  # the same picture, from the render cache
    redraws = prompts[prompts["cf_role"] == "counterfactual"]
    assert all(cf_sha[i] != cf_sha[o] for i, o in zip(redraws["image_id"], redraws["original_image_id"]))

    scores = result.output_for_node("counterfactual_scores")
    assert set(scores["attribute"]) == set(redraws["cf_attribute"])
    assert scores["n_pairs"].sum() == len(redraws)
    assert scores["flip_rate"].between(0, 1).all()
    checks = [e for e in result.get_asset_check_evaluations() if e.asset_key.path == ["counterfactual_scores"]]
    assert checks and all(e.passed for e in checks)
    metadata = result.asset_materializations_for_node("counterfactual_scores")[0].metadata
    assert "flip_rate_chart" in metadata and metadata["dagster/row_count"].value == len(scores)
