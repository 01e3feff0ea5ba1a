"""Each analyst question's mart on constructed tables whose answer is known (issue 14, item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_rows as write
from workbench_dagster.warehouse.build import build_warehouse, query

REPO_SQL = Path(__file__).resolve().parents[2] / "dbt_like_sql"


def _caption(image: str, batch: str, labels: list[str], caption: str | None = "c", model: str = "m") -> dict:
    return {
        "image_id": image,
        "batch": batch,
        "model": model,
        "backend": "baseline",
        "model_kind": "baseline",
        "labels": labels,
        "caption": caption,
        "parse_status": "ok" if caption else "error",
        "is_training_batch": batch == "train",
        "cost_usd": 0.0,
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Held-out X (a, b) labelled a, c; held-out Y (a) labelled nothing; held-out W (a) failed;
    training Z (a) labelled b. Scores rank X above Y for label a."""
    tables = tmp_path / "data" / "tables"
    prompts = [("X", "b1", ["a", "b"]), ("Y", "b1", ["a"]), ("W", "b1", ["a"]), ("Z", "train", ["a"])]
    write(tables, "prompts/p.parquet", [{"image_id": i, "batch": b, "reference_labels": r} for i, b, r in prompts])
    write(
        tables,
        "synthetic_images/s.parquet",
        [
            {"image_id": i, "batch": b, "uri": str(tmp_path / "data" / "images" / f"{i}.png")}
            for i, b, _ in prompts
        ],
    )
    write(
        tables,
        "mllm_captions/c.parquet",
        [
            _caption("X", "b1", ["a", "c"], "an a and a c"),
            _caption("Y", "b1", [], "nothing here"),
            _caption("W", "b1", [], None),
            _caption("Z", "train", ["b"], "a b"),
        ],
    )
    write(
        tables,
        "image_scores/s.parquet",
        [
            {"model": "m", "image_id": "X", "jaccard": 1 / 3, "caption_cosine": 0.9},
            {"model": "m", "image_id": "Y", "jaccard": 0.0, "caption_cosine": 0.1},
            {"model": "m", "image_id": "Z", "jaccard": 1.0, "caption_cosine": 1.0},
        ],
    )
    comparisons = [
        ("A", "B", "f1_micro", 0.2, 0.1, 0.3, "better"),
        ("B", "A", "f1_micro", -0.2, -0.3, -0.1, "worse"),
        ("A", "B", "hamming_loss", 0.05, 0.01, 0.09, "worse"),  # A's loss is higher: B leads
        ("B", "A", "hamming_loss", -0.05, -0.09, -0.01, "better"),
        ("A", "B", "f1_macro", 0.01, -0.02, 0.04, "no clear difference"),
        ("B", "A", "f1_macro", -0.01, -0.04, 0.02, "no clear difference"),
    ]
    write(
        tables,
        "model_comparisons/c.parquet",
        [
            dict(zip(("model", "other_model", "metric", "difference", "ci_low", "ci_high", "verdict"), row))
            | {"n_images": 10}
            for row in comparisons
        ],
    )
    write(
        tables,
        "synthetic_comments/c.parquet",
        [
            {"comment_id": "1", "image_id": "X", "batch": "b1", "lang": "en", "text": "one two three",
             "hashtags": ["#x", "#y"], "emojis": []},
            {"comment_id": "2", "image_id": "Y", "batch": "b1", "lang": "en", "text": "four five",
             "hashtags": ["#x"], "emojis": ["🔥"]},
            {"comment_id": "3", "image_id": "X", "batch": "b1", "lang": "es", "text": "uno",
             "hashtags": [], "emojis": []},
        ],
    )  # fmt: skip
    return Path(build_warehouse(tables, REPO_SQL, tmp_path / "data" / "warehouse.duckdb")["path"])


def test_label_confusion_counts_pairs_of_held_out_images_only(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT * FROM label_confusion ORDER BY reference_label, predicted_label")
    got = {(r.reference_label, r.predicted_label): (r.n_images, r.n_reference, r.rate) for r in rows.itertuples()}
    assert got == {
        ("a", "(none)"): (2, 3, pytest.approx(2 / 3)),  # Y labelled nothing, W failed
        ("a", "a"): (1, 3, pytest.approx(1 / 3)),
        ("a", "c"): (1, 3, pytest.approx(1 / 3)),
        ("b", "a"): (1, 1, 1.0),
        ("b", "c"): (1, 1, 1.0),
    }  # nothing of Z, the training image that was labelled b
    assert rows.loc[rows["is_correct"], ["reference_label"]].squeeze() == "a"


def test_model_margins_keep_one_row_per_pair_led_by_the_better_model(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT * FROM model_margins ORDER BY metric").set_index("metric")
    assert len(rows) == 3
    f1 = rows.loc["f1_micro"]
    assert (f1.ahead, f1.behind, f1.verdict, bool(f1.significant)) == ("A", "B", "better", True)
    assert (f1.margin, f1.margin_ci_low, f1.margin_ci_high) == pytest.approx((0.2, 0.1, 0.3))
    loss = rows.loc["hamming_loss"]  # lower is better: B, with the lower loss, leads
    assert (loss.ahead, loss.behind, loss.verdict) == ("B", "A", "better")
    assert (loss.margin, loss.margin_ci_low, loss.margin_ci_high) == pytest.approx((0.05, 0.01, 0.09))
    tie = rows.loc["f1_macro"]
    assert (tie.ahead, tie.verdict, bool(tie.significant)) == ("A", "no clear difference", False)
    assert (tie.margin_ci_low, tie.margin_ci_high) == pytest.approx((-0.02, 0.04))


def test_comments_by_language(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT * FROM comments_by_language").set_index("lang")
    assert rows.index.tolist() == ["en", "es"]
    en, es = rows.loc["en"], rows.loc["es"]
    assert (en.n_comments, en.n_images, es.n_comments) == (2, 2, 1)
    assert en.share_of_comments == pytest.approx(2 / 3)
    assert (en.mean_words, en.mean_hashtags, en.share_with_emoji) == pytest.approx((2.5, 1.5, 0.5))
    assert list(en.top_hashtags) == ["#x", "#y"] and list(en.top_emojis) == ["🔥"]
    assert list(es.top_hashtags) == [] and es.mean_words == 1


def test_caption_examples_best_and_worst_with_their_images(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT * FROM caption_examples ORDER BY label, example")
    got = [(r.label, r.example, r.image_id, r.n_candidates) for r in rows.itertuples()]
    assert got == [("a", "best", "X", 2), ("a", "worst", "Y", 2), ("b", "best", "X", 1)]  # no W, no Z
    assert rows["uri"].tolist() == ["images/X.png", "images/Y.png", "images/X.png"]  # relative to data_dir
    assert rows["model_kind"].unique().tolist() == ["baseline"]
    assert rows.loc[0, "caption"] == "an a and a c"


def test_label_frequency_keeps_training_and_held_out_apart(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT split, label, n_predicted, n_reference, n_both FROM label_frequency")
    got = {(r.split, r.label): (r.n_predicted, r.n_reference, r.n_both) for r in rows.itertuples()}
    assert got == {
        ("held_out", "a"): (1, 3, 1),
        ("held_out", "b"): (0, 1, 0),
        ("held_out", "c"): (1, 0, 0),
        ("training", "a"): (0, 1, 0),
        ("training", "b"): (1, 0, 0),
    }


def test_catalog_describes_every_mart_from_its_sql_file(warehouse: Path) -> None:
    catalog = query(warehouse, "SELECT * FROM _catalog").set_index("name")
    for path in sorted(REPO_SQL.glob("*.sql")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("-- ") and len(first) > 20, f"{path}: no one-line description"
        assert catalog.loc[path.stem, "kind"] == "mart"
        assert catalog.loc[path.stem, "description"] == first[3:].strip()
    assert catalog["description"].notna().all()
    assert set(catalog.index) >= {"mllm_captions", "human_reviews", "_workbench_meta", "metrics"}
