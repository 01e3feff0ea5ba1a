"""Issue 13, finding 5: a caption far from the image's other models' captions is flagged `far_from_others`,
judged per batch over every model's caption vectors (captioning/batch_flags.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench_dagster.captioning.batch_flags import (
    BATCH_FLAG_COLUMNS,
    FAR_FROM_OTHERS,
    JUDGED,
    NO_CAPTION,
    TOO_FEW,
    batch_flag_table,
    far_from_others,
    status_counts,
    with_batch_flags,
)

RNG = np.random.default_rng(3)
TOPIC = RNG.normal(size=32)


def near(topic: np.ndarray, noise: float = 0.2) -> np.ndarray:
    return topic + noise * np.linalg.norm(topic) / np.sqrt(len(topic)) * RNG.normal(size=len(topic))


def elsewhere() -> np.ndarray:
    """A direction orthogonal to TOPIC: a caption about something else."""
    other = RNG.normal(size=len(TOPIC))
    return other - (other @ TOPIC) / (TOPIC @ TOPIC) * TOPIC


def test_one_outlier_among_three_models_is_flagged_and_the_agreeing_two_are_not():
    verdicts = far_from_others({"a": near(TOPIC), "b": near(TOPIC), "odd": elsewhere()})
    assert verdicts["odd"]["far"] and verdicts["odd"]["status"] == JUDGED
    assert not verdicts["a"]["far"] and not verdicts["b"]["far"]
    assert verdicts["odd"]["agreement"] > 0.8 and abs(verdicts["odd"]["similarity"]) < 0.2
    assert {v["n_others"] for v in verdicts.values()} == {2}


def test_agreeing_captions_are_not_flagged_nor_captions_that_all_disagree():
    agreeing = far_from_others({m: near(TOPIC) for m in "abcd"})
    assert not any(v["far"] for v in agreeing.values())
    # A hard image: four captions, each about something else. None is the odd one out.
    scattered = far_from_others(dict(zip("abcd", np.eye(32)[:4] + 0.3 * TOPIC / np.linalg.norm(TOPIC))))
    assert not any(v["far"] for v in scattered.values())
    assert all(v["status"] == JUDGED for v in scattered.values())


def test_an_outlier_among_four_models_is_the_only_one_flagged():
    verdicts = far_from_others({"a": near(TOPIC), "b": near(TOPIC), "c": near(TOPIC), "odd": elsewhere()})
    assert [m for m, v in verdicts.items() if v["far"]] == ["odd"]


def test_the_margin_decides_how_far_is_far():
    vectors = {"a": near(TOPIC, 0.05), "b": near(TOPIC, 0.05), "c": TOPIC + 0.9 * elsewhere()}
    gap = far_from_others(vectors)["c"]
    gap = gap["agreement"] - gap["similarity"]
    assert 0.05 < gap < 0.9
    assert far_from_others(vectors, margin=gap - 0.01)["c"]["far"]
    assert not far_from_others(vectors, margin=gap + 0.01)["c"]["far"]


@pytest.mark.parametrize("n_models", [1, 2])
def test_fewer_than_three_models_are_not_judged_and_say_so(n_models):
    verdicts = far_from_others(dict(zip("ab", [TOPIC, -TOPIC][:n_models])))
    assert len(verdicts) == n_models
    for verdict in verdicts.values():
        assert verdict["status"] == TOO_FEW and not verdict["far"]
        assert np.isnan(verdict["similarity"]) and np.isnan(verdict["agreement"])


def _batch(flags: dict, vectors: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    captions = pd.DataFrame(
        [{"image_id": i, "batch": "b001", "model": m, "flags": f} for (m, i), f in flags.items()]
    )
    rows = [{"image_id": i, "model": m, "source": "caption", "vector": v} for (m, i), v in vectors.items()]
    # label-set vectors are not captions: were they read, every model would agree on i2 and the odd one
    rows += [
        {"image_id": i, "model": m, "source": "labels", "vector": -TOPIC}
        for m in ("a", "b", "odd")
        for i in ("i1", "i2")
    ]
    return captions, pd.DataFrame(rows)


def test_the_batch_table_has_a_row_per_caption_with_the_union_of_its_flags():
    flags = {
        ("a", "i1"): [],
        ("b", "i1"): ["instruction_like"],
        ("odd", "i1"): ["wrong_language"],
        ("a", "i2"): [],
        ("b", "i2"): [],
        ("odd", "i2"): [],  # failed: a row without a caption vector
    }
    vectors = {
        ("a", "i1"): near(TOPIC),
        ("b", "i1"): near(TOPIC),
        ("odd", "i1"): elsewhere(),
        ("a", "i2"): near(TOPIC),
        ("b", "i2"): near(TOPIC),
    }
    table = batch_flag_table(*_batch(flags, vectors))
    assert list(table.columns) == BATCH_FLAG_COLUMNS and len(table) == len(flags)
    by_row = {(r.model, r.image_id): r for r in table.itertuples()}
    assert by_row[("odd", "i1")].flags == ["wrong_language", FAR_FROM_OTHERS]
    assert by_row[("b", "i1")].flags == ["instruction_like"]  # its own flag kept, not far
    assert by_row[("a", "i1")].flags == []
    assert by_row[("odd", "i2")].far_status == NO_CAPTION and by_row[("odd", "i2")].n_other_captions == 2
    assert by_row[("a", "i2")].far_status == TOO_FEW and np.isnan(by_row[("a", "i2")].similarity_to_others)
    assert status_counts(table) == {JUDGED: 3, TOO_FEW: 2, NO_CAPTION: 1}


def test_captions_without_flags_are_refused_with_the_column_named():
    captions, embeddings = _batch({("a", "i1"): []}, {("a", "i1"): TOPIC})
    with pytest.raises(ValueError, match="'flags'"):
        batch_flag_table(captions.drop(columns=["flags"]), embeddings)
    with pytest.raises(ValueError, match="vector"):
        batch_flag_table(captions, embeddings.drop(columns=["vector"]))


def test_with_batch_flags_replaces_a_models_flags_and_keeps_rows_not_yet_flagged():
    captions = pd.DataFrame(
        {"image_id": ["i1", "i2", "i3"], "model": "a", "flags": [[], ["instruction_like"], ["wrong_language"]]}
    )
    table = pd.DataFrame(
        {
            "image_id": ["i1", "i2", "i1"],
            "model": ["a", "a", "b"],
            "flags": [[FAR_FROM_OTHERS], ["instruction_like"], ["instruction_like"]],
        }
    )
    merged = with_batch_flags(captions, table)
    assert list(merged["flags"]) == [[FAR_FROM_OTHERS], ["instruction_like"], ["wrong_language"]]
    assert with_batch_flags(captions, table.iloc[:0]) is captions
