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
