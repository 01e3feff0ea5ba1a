"""caption_flags as Dagster runs it: one batch, reading mllm_captions and embeddings of every model through the
IO manager, its table rule passing and its warning check counting each flag (issue 13, finding 5)."""

from __future__ import annotations

import dagster as dg
import numpy as np

from assets._shared.runner import register_batches
from tests.helpers import materialize_selected, write_config, write_rows
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

MODELS = ("base-a", "base-b", "base-c")


def _model(model_id: str) -> dict:
    return {"id": model_id, "backend": "baseline", "params": {"channels": 8, "epochs": 1}}


def test_caption_flags_reads_every_model_of_the_batch_and_warns_with_counts(tmp_path):
    config = load_config(write_config(tmp_path, models=[_model(m) for m in MODELS]))
    rng = np.random.default_rng(0)
    topic = rng.normal(size=16)
    for model in MODELS:
        captions, vectors = [], []
        for image in ("img0", "img1"):
            flags = ["instruction_like"] if (model, image) == ("base-b", "img1") else []
            captions.append({"image_id": image, "batch": "b001", "model": model, "flags": flags})
            off = (model, image) == ("base-c", "img0")
            vector = rng.normal(size=16) if off else topic + 0.1 * rng.normal(size=16)
            for source in ("caption", "labels"):
                vectors.append(
                    {"text_id": f"{image}:{source}", "image_id": image, "batch": "b001", "model": model}
                )
                vectors[-1].update(source=source, embedder="e", dim=16, vector=vector.astype(np.float32))
        write_rows(config.tables_dir, f"mllm_captions/b001/{model}.parquet", captions)
        write_rows(config.tables_dir, f"embeddings/b001/{model}.parquet", vectors)
    defs = build_definitions(config)
    with dg.DagsterInstance.ephemeral() as instance:
        register_batches(instance, config)
        result = materialize_selected(defs, instance, ["caption_flags"], "b001")
    assert result.success
    table = result.output_for_node("caption_flags")
    assert len(table) == 6 and set(table["model"]) == set(MODELS)
    flags = {(r.model, r.image_id): r.flags for r in table.itertuples()}
    assert flags[("base-c", "img0")] == ["far_from_others"] and flags[("base-b", "img1")] == ["instruction_like"]
    assert sum(map(len, flags.values())) == 2
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["expectations"].passed
    warning = checks["no_flagged_batch_captions"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    counts = {k: v.value for k, v in warning.metadata.items() if not k.startswith("flagged")}
    assert counts["far_from_others"] == 1 and counts["instruction_like"] == 1 and counts["wrong_language"] == 0
    assert warning.metadata["flagged_rows"].value == 2 and counts["far_status_judged"] == 6
