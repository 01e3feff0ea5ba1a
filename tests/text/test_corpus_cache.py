"""preprocessed_text is cached by text (issue 13, finding 4): a second run over unchanged texts makes no
language-detection call, and a changed text, language set or preprocessing version is preprocessed again."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.helpers import count_detector_calls
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.text import preprocessing
from workbench_dagster.text.corpus import PREPROCESSED_COLUMNS, preprocess_texts

TEXTS = [
    "Una marcha por la justicia 💜 #JusticiaParaEllas",
    "People hold purple signs in the square",
    "",
    "Ni una menos, gritan en la plaza",
]


def _texts(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text_id": [f"t{i}" for i in range(len(texts))],
            "image_id": [f"i{i}" for i in range(len(texts))],
            "batch": "b1",
            "model": "m",
            "source": "comment",
            "text": texts,
        }
    )


@pytest.fixture
def detector_calls(monkeypatch) -> list[list[str]]:
    return count_detector_calls(monkeypatch)


def test_a_second_run_makes_no_detector_call(tmp_path, detector_calls):
    cache = CallCache(tmp_path / "text")
    first, n_first = preprocess_texts(_texts(TEXTS), ("en", "es"), cache=cache)
    assert n_first == len(TEXTS) and len(detector_calls) == 1
    second, n_second = preprocess_texts(_texts(TEXTS), ("en", "es"), cache=cache)
    assert n_second == 0 and len(detector_calls) == 1
    pd.testing.assert_frame_equal(first, second)
    assert list(second.columns) == PREPROCESSED_COLUMNS
    uncached, _ = preprocess_texts(_texts(TEXTS), ("en", "es"))
    pd.testing.assert_frame_equal(first, uncached)
    assert list(first["lang"]) == ["es", "en", "unknown", "es"]


def test_only_what_changed_is_preprocessed_again(tmp_path, detector_calls, monkeypatch):
    cache = CallCache(tmp_path / "text")
    preprocess_texts(_texts(TEXTS), ("en", "es"), cache=cache)
    changed = [*TEXTS[:3], "Marchamos juntas por las calles"]
    _, n = preprocess_texts(_texts(changed), ("en", "es"), cache=cache)
    assert n == 1 and detector_calls[-1] == ["marchamos juntas por las calles"]
    _, n = preprocess_texts(_texts(changed), ("en", "es", "fr"), cache=cache)
    assert n == len(changed)  # another language set may detect another language
    monkeypatch.setattr(preprocessing, "PREPROCESS_VERSION", "preprocess-test-bump")
    _, n = preprocess_texts(_texts(changed), ("en", "es"), cache=cache)
    assert n == len(changed)
