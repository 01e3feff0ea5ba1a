"""The audit stage materialized by Dagster on a tiny config: an OpenAI-compatible model (a local fake
server) with a Spanish prompt variant, captioned through the caption loop and its cache, scored for
prompt sensitivity, and sliced per batch and pooled, every table passing its expectations."""

from __future__ import annotations

import dagster as dg
import pytest

from assets._shared.runner import register_batches
from assets.audit import GAP_CHARTS
from tests.fakes.openai_server import OpenAIState, fake_openai_server
from tests.helpers import materialize_selected as materialize
from tests.helpers import write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

KEY_ENV = "WORKBENCH_TEST_AUDIT_KEY"
SPANISH = "Etiqueta esta imagen de un estudio sobre movimientos sociales con estas etiquetas:\n{taxonomy}"


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    state = OpenAIState()
    with fake_openai_server(state) as server:
        folder = tmp_path_factory.mktemp("audit")
        model = {
            "id": "verde",
            "backend": "openai",
            "model": "qwen2-vl",
            "base_url": server.url + "/v1",
            "api_key_env": KEY_ENV,
            "prompt_variants": [{"id": "es", "text": SPANISH, "language": "es"}],
        }
        path = write_config(
            folder,
            batches=[{"id": "train", "n_images": 8}, {"id": "b001", "n_images": 10}],
            models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}, model],
            audit={"min_slice_images": 4, "n_permutations": 99, "n_boot": 100},
        )
        config = load_config(path)
        state.labels = config.scenario_data.label_ids
        defs = build_definitions(config)
        instance = dg.DagsterInstance.ephemeral()
        register_batches(instance, config)
        for batch in config.batch_ids:
            assert materialize(
                defs, instance, ["prompts", "synthetic_images", "synthetic_comments"], batch
            ).success
        assert materialize(defs, instance, ["baseline_models"]).success
        yield config, defs, instance, server
        instance.dispose()


def _checks_passed(result) -> bool:
    return all(e.passed for e in result.get_asset_check_evaluations())


def test_variants_are_captioned_once_and_scored(graph, monkeypatch):
    config, defs, instance, server = graph
    monkeypatch.setenv(KEY_ENV, "test-key")
    key = str(dg.MultiPartitionKey({"model": "verde", "batch": "b001"}))
    before = server.state.calls
    first = materialize(defs, instance, ["mllm_captions", "prompt_variant_captions"], key)
    assert first.success and _checks_passed(first)
    assert server.state.calls - before == 20  # its own prompt and the variant, 10 images each
    rows = first.output_for_node("prompt_variant_captions")
    assert set(rows["prompt_variant"]) == {"es"} and set(rows["variant_language"]) == {"es"} and len(rows) == 10
    again = materialize(defs, instance, ["prompt_variant_captions"], key)
    assert again.success and server.state.calls - before == 20  # the variant's answers come from the cache
    train = str(dg.MultiPartitionKey({"model": "verde", "batch": "train"}))
    skipped = materialize(defs, instance, ["mllm_captions", "prompt_variant_captions"], train)
    assert skipped.success and skipped.output_for_node("prompt_variant_captions").empty  # not held out
    assert server.state.calls - before == 28  # the training batch's own captions only
    result = materialize(defs, instance, ["prompt_sensitivity"], "verde")
    assert result.success and _checks_passed(result)
    table = result.output_for_node("prompt_sensitivity").set_index("prompt_variant")
    assert list(table.index) == ["default", "es"] and (table["n_images"] == 10).all()
    # the fake answers from the image alone: the wording changes nothing, and the table says so
    assert table.loc["es", "f1_micro"] == pytest.approx(table.loc["default", "f1_micro"])
    assert table.iloc[0]["f1_spread"] == pytest.approx(0.0)
    meta = result.asset_materializations_for_node("prompt_sensitivity")[0].metadata
    assert "variant_f1" in meta and meta["dagster/row_count"].value == 2


def test_a_model_without_variants_gets_an_empty_variant_table(graph):
    _, defs, instance, _ = graph
    key = str(dg.MultiPartitionKey({"model": "base-a", "batch": "b001"}))
    result = materialize(defs, instance, ["mllm_captions", "prompt_variant_captions"], key)
    assert result.success and result.output_for_node("prompt_variant_captions").empty
    meta = result.asset_materializations_for_node("prompt_variant_captions")[0].metadata
    assert "no prompt_variants" in meta["skipped"].value


def test_slices_per_batch_and_pooled(graph, monkeypatch):
    _, defs, instance, _ = graph
    monkeypatch.setenv(KEY_ENV, "test-key")
    key = str(dg.MultiPartitionKey({"model": "verde", "batch": "b001"}))
    chain = ["mllm_captions", "preprocessed_text", "embeddings", "image_scores", "slice_scores"]
    train = str(dg.MultiPartitionKey({"model": "verde", "batch": "train"}))
    assert materialize(defs, instance, chain, train).success  # read, then left out of the pooled slices
    result = materialize(defs, instance, chain, key)
    assert result.success and _checks_passed(result)
    per_batch = result.output_for_node("slice_scores")
    assert set(per_batch["scope"]) == {"batch"} and set(per_batch["batch"]) == {"b001"}
    assert {"scene_type", "time_of_day", "setting"} <= set(per_batch["attribute"])
    small = per_batch[per_batch["n_images"] < 4]
    assert small["f1_micro"].isna().all() and per_batch.loc[per_batch["rated"], "f1_micro"].notna().all()
    meta = result.asset_materializations_for_node("slice_scores")[0].metadata
    charts = {k.removeprefix("gap_") for k in meta if k.startswith("gap_")}
    tested = per_batch[per_batch["gap_role"].notna()].drop_duplicates("attribute")
    closest = tested.sort_values("gap_p_adjusted", kind="stable")["attribute"].head(GAP_CHARTS)
    assert charts == set(closest) and 0 < len(charts) <= GAP_CHARTS and "significant_gaps" in meta
    pooled = materialize(defs, instance, ["held_out_slice_scores"], "verde")
    assert pooled.success and _checks_passed(pooled)
    table = pooled.output_for_node("held_out_slice_scores")
    assert set(table["scope"]) == {"held_out"} and table["batch"].isna().all() and (table["n_batches"] == 1).all()
    assert table.groupby("attribute")["n_images"].sum().eq(10).all()  # every held-out image in each attribute
