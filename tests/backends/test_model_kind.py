"""Every caption row says which kind of model made it: baseline, api or local_vlm (issue 14, item 3)."""

from __future__ import annotations

import pytest

from tests.helpers import images
from workbench_dagster.backends.registry import BACKENDS, MODEL_KINDS, model_kind, names
from workbench_dagster.captioning.rows import CAPTION_COLUMNS, failure_row


def test_each_caption_backend_has_its_kind():
    kinds = {name: model_kind(name) for name in names("caption")}
    assert kinds == {"baseline": "baseline", "transformers": "local_vlm", "gemini": "api", "openai": "api"}
    assert set(kinds.values()) <= set(MODEL_KINDS)
    assert BACKENDS["template"].model_kind is None  # not a caption backend


@pytest.mark.parametrize("name", ["template", "no_such_backend"])
def test_a_name_that_is_no_caption_backend_fails_naming_the_registry(name):
    with pytest.raises(ValueError, match="registry.py"):
        model_kind(name)


def test_a_failure_row_carries_its_backend_kind():
    row = failure_row(images(1)[0], "m", "openai", "HTTP 500", False)
    assert row["model_kind"] == "api" and set(row) == set(CAPTION_COLUMNS)


def test_baseline_rows_are_baseline_fresh_and_from_the_cache(tmp_path):
    """A real tiny baseline captions four painted images twice: fresh rows and cached rows both say `baseline`."""
    from pathlib import Path

    from workbench_dagster.captioning.baseline import train_baseline
    from workbench_dagster.captioning.call_cache import CallCache
    from workbench_dagster.captioning.rows import ImageInput, caption_with_baseline
    from workbench_dagster.generation.procedural import render_image
    from workbench_dagster.scenario.prompts import expand_batch
    from workbench_dagster.scenario.scenario_file import load_scenario
    from workbench_dagster.storage.image_store import sha256_bytes
    from workbench_dagster.storage.media import decode_image

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "atropia.yaml")
    prompts = expand_batch(scenario, "b", 4, 7)
    data = [render_image(p.spec, 64, 48, p.seed) for p in prompts]
    model = train_baseline(
        [decode_image(d) for d in data], [p.reference_labels for p in prompts], scenario.label_ids,
        {"channels": 4, "epochs": 1, "batch_size": 4}, 32, "cpu", seed=1,
    )  # fmt: skip
    inputs = [ImageInput(p.image_id, "b", sha256_bytes(d), d) for p, d in zip(prompts, data)]
    cache = CallCache(tmp_path / "calls")
    options = {"label_names": {}, "threshold": 0.5, "cache": cache, "is_training_batch": False}
    fresh, n_fresh = caption_with_baseline(model=model, model_id="base", images=inputs, **options)
    cached, n_cached = caption_with_baseline(model=model, model_id="base", images=inputs, **options)
    assert (n_fresh, n_cached) == (4, 0)
    assert [r["model_kind"] for r in fresh + cached] == ["baseline"] * 8
    assert all(r["cache_hit"] for r in cached) and all(set(r) == set(CAPTION_COLUMNS) for r in fresh + cached)
