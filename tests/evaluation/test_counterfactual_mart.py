"""The counterfactual_flips mart on constructed pairs whose flips are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_rows as write
from workbench_dagster.warehouse.build import build_warehouse, query

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def _prompt(image, labels, role, original=None, attribute=None, before=None, after=None) -> dict:
    return {
        "image_id": image,
        "batch": "cf",
        "reference_labels": labels,
        "cf_role": role,
        "pair_id": image if role == "counterfactual" else None,
        "original_image_id": original,
        "cf_attribute": attribute,
        "cf_from": before,
        "cf_to": after,
    }


def _caption(image, labels, status="ok") -> dict:
    return {"image_id": image, "batch": "cf", "model": "m", "model_kind": "baseline", "labels": labels,
            "parse_status": status}  # fmt: skip


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Originals O1, O2, O3 (flyer_es). Night redraws: N1 flips, N2 keeps its labels, N3's caption
    failed. The language redraw L3 changes the reference (flyer_en), so it is no flip candidate."""
    tables = tmp_path / "data" / "tables"
    write(
        tables,
        "prompts/p.parquet",
        [
            _prompt("O1", ["protest"], "original", "b-1"),
            _prompt("N1", ["protest"], "counterfactual", "O1", "time_of_day", "day", "night"),
            _prompt("O2", ["protest"], "original", "b-2"),
            _prompt("N2", ["protest"], "counterfactual", "O2", "time_of_day", "day", "night"),
            _prompt("O3", ["flyer_es"], "original", "b-3"),
            _prompt("N3", ["flyer_es"], "counterfactual", "O3", "time_of_day", "night", "day"),
            _prompt("L3", ["flyer_en"], "counterfactual", "O3", "text_language", "es", "en"),
            _prompt("C2", ["protest"], "counterfactual", "O2", "crowd_size", "3", "6"),
        ],
    )
    write(
        tables,
        "mllm_captions/c.parquet",
        [
            _caption("O1", ["protest"]),
            _caption("N1", []),
            _caption("O2", ["protest"]),
            _caption("N2", ["protest"]),
            _caption("O3", ["flyer_es"]),
            _caption("N3", [], "error"),
            _caption("L3", ["flyer_es"]),
            _caption("C2", ["protest"]),
        ],
    )
    write(
        tables,
        "counterfactual_scores/s.parquet",
        [
            {"model": "m", "batch": "cf", "attribute": "time_of_day", "flip_rate": 0.5, "flip_rate_ci_low": 0.1,
             "flip_rate_ci_high": 0.9, "note": None},
            {"model": "m", "batch": "cf", "attribute": "text_language", "flip_rate": None, "note": "counts only"},
        ],
    )  # fmt: skip
    return Path(build_warehouse(tables, REPO_SQL, tmp_path / "data" / "warehouse.duckdb")["path"])


def test_flips_are_counted_per_change_where_the_reference_stayed(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT * FROM counterfactual_flips")
    got = {
        (r.attribute, r.change): (r.n_pairs, r.n_scored, r.n_reference_unchanged, r.n_flipped)
        for r in rows.itertuples()
    }
    assert got == {
        ("time_of_day", "day -> night"): (2, 2, 2, 1),
        ("time_of_day", "night -> day"): (1, 0, 0, 0),  # the failed caption is neither flip nor keep
        ("text_language", "es -> en"): (1, 1, 0, 0),  # the reference changed: no flip candidate
        ("crowd_size", "more"): (1, 1, 1, 0),  # a count is told as more or fewer, not 3 -> 6
    }
    night = rows[rows["change"] == "day -> night"].iloc[0]
    assert (night.flip_rate, night.flip_rate_ci_low, bool(night.beyond_chance)) == pytest.approx((0.5, 0.1, True))
    assert rows.iloc[0]["attribute"] == "time_of_day"  # the largest flip rate first
    language = rows[rows["attribute"] == "text_language"].iloc[0]
    assert not language.beyond_chance and language.note == "counts only"


def test_the_leaderboard_leaves_counterfactual_batches_out(warehouse: Path, tmp_path: Path) -> None:
    tables = tmp_path / "data" / "tables"
    write(
        tables,
        "eval_scores/e.parquet",
        [
            {"model": "m", "batch": "b1", "is_training_batch": False, "n_scored": 10, "f1_micro": 0.8},
            {"model": "m", "batch": "cf", "is_training_batch": False, "n_scored": 30, "f1_micro": 0.2},
        ],
    )
    write(tables, "prompts/b1.parquet", [{"image_id": "X", "batch": "b1", "reference_labels": ["protest"]}])
    path = Path(build_warehouse(tables, REPO_SQL, tmp_path / "data" / "w2.duckdb")["path"])
    row = query(path, "SELECT * FROM model_leaderboard").iloc[0]
    assert (row.n_batches, row.n_images, row.f1_micro) == (1, 10, pytest.approx(0.8))


def test_pooled_intervals_and_comparisons_leave_excluded_batches_out() -> None:
    import pandas as pd

    from workbench_dagster.evaluation.scores import metric_intervals, model_comparisons

    rows = [
        {"model": m, "batch": b, "image_id": f"{b}-{i}", "is_training_batch": False, "reference_labels": ["a"],
         "labels": ["a"] if b == "b1" else [], "caption_cosine": 0.5, "caption_bertscore": 0.5}
        for m in ("m", "n") for b in ("b1", "cf") for i in range(4)
    ]  # fmt: skip
    images = pd.DataFrame(rows)
    pooled = metric_intervals("m", images, ["a"], excluded=frozenset({"cf"})).set_index("metric")
    assert pooled.loc["f1_micro", "n_images"] == 4 and pooled.loc["f1_micro", "estimate"] == 1.0
    assert metric_intervals("m", images, ["a"]).set_index("metric").loc["f1_micro", "n_images"] == 8
    assert (model_comparisons("m", images, ["a"], excluded=frozenset({"cf"}))["n_images"] == 4).all()


def test_label_marts_keep_counterfactual_batches_out_of_held_out(warehouse: Path, tmp_path: Path) -> None:
    """label_confusion and caption_examples leave the probes out; label_frequency counts them apart."""
    tables = tmp_path / "data" / "tables"
    write(tables, "prompts/b1.parquet", [{"image_id": "X", "batch": "b1", "reference_labels": ["protest"]}])
    write(
        tables,
        "mllm_captions/b1.parquet",
        [{"image_id": "X", "batch": "b1", "model": "m", "model_kind": "baseline", "labels": ["protest"],
          "parse_status": "ok", "caption": "a march", "is_training_batch": False}],
    )  # fmt: skip
    path = Path(build_warehouse(tables, REPO_SQL, tmp_path / "data" / "w3.duckdb")["path"])
    confusion = query(path, "SELECT * FROM label_confusion")
    assert set(confusion["reference_label"]) == {"protest"} and confusion["n_reference"].tolist() == [1]
    assert query(path, "SELECT image_id FROM caption_examples")["image_id"].tolist() == ["X"]
    frequency = query(path, "SELECT split, label, n_reference FROM label_frequency ORDER BY split, label")
    assert set(frequency["split"]) == {"counterfactual", "held_out"}
    held_out = frequency[frequency["split"] == "held_out"]
    assert held_out[["label", "n_reference"]].values.tolist() == [["protest", 1]]
