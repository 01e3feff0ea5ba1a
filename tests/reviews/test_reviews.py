"""The review queue out, Label Studio exports and CSV sheets in, whole-file rejection."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from workbench_dagster.evaluation.scores import human_agreement, human_eval_scores
from workbench_dagster.reviews.inbox import human_majority, inbox_fingerprint, ingest_inbox, report_path
from workbench_dagster.reviews.queue import CONTENT_FLAGS, select_for_review, write_queue

LABELS = ["protest", "flyer", "selfie"]
KNOWN = {"b1-0": "b1", "b1-1": "b1", "b1-2": "b1", "b2-0": "b2"}


def caption(model, image_id, labels, backend="openai", scores=None):
    return {
        "image_id": image_id,
        "batch": image_id.split("-")[0],
        "model": model,
        "backend": backend,
        "labels": labels,
        "label_scores_json": json.dumps(scores) if scores else None,
        "parse_status": "ok",
    }


@pytest.fixture
def captions() -> pd.DataFrame:
    sure = {"protest": 0.99, "flyer": 0.01, "selfie": 0.01}
    unsure = {"protest": 0.5, "flyer": 0.5, "selfie": 0.5}
    return pd.DataFrame(
        [
            # b1-0: both models agree, baseline sure -> lowest priority
            caption("base", "b1-0", ["protest"], "baseline", sure),
            caption("llm", "b1-0", ["protest"]),
            # b1-1: models disagree on every label, baseline sure on its own answer
            caption("base", "b1-1", ["protest"], "baseline", sure),
            caption("llm", "b1-1", ["flyer", "selfie"]),
            # b1-2: models agree, baseline at 0.5 everywhere
            caption("base", "b1-2", [], "baseline", unsure),
            caption("llm", "b1-2", []),
            caption("base", "b2-0", ["flyer"], "baseline", sure),
            caption("llm", "b2-0", []),
        ]
    )


def images() -> pd.DataFrame:
    return pd.DataFrame({"image_id": list(KNOWN), "uri": [f"/img/{i}.png" for i in KNOWN]})


def test_queue_puts_disagreement_and_uncertainty_first_per_batch(captions, tmp_path):
    queue = select_for_review(captions, images(), LABELS, per_batch=2)
    assert queue[queue["batch"] == "b1"]["image_id"].tolist() == ["b1-1", "b1-2"]
    assert queue[queue["batch"] == "b2"]["image_id"].tolist() == ["b2-0"]  # stratified: every batch gets its share
    row = queue.set_index("image_id").loc["b1-1"]
    assert row["disagreement"] == pytest.approx(1.0)  # one yes, one no on every label: entropy 1 bit
    assert queue.set_index("image_id").loc["b1-2", "baseline_uncertainty"] == pytest.approx(1.0)
    assert queue.set_index("image_id").loc["b1-2", "disagreement"] == pytest.approx(0.0, abs=1e-9)

    paths = write_queue(tmp_path, "b1", queue[queue["batch"] == "b1"], LABELS)
    tasks = json.loads(paths["tasks.json"].read_text())
    assert [t["data"]["image_id"] for t in tasks] == ["b1-1", "b1-2"] and tasks[0]["data"][
        "image"
    ] == "/img/b1-1.png"
    view = ET.fromstring(paths["labeling_config.xml"].read_text())
    choices = {c.get("name"): [x.get("value") for x in c] for c in view.iter("Choices")}
    assert choices == {"labels": LABELS, "flags": list(CONTENT_FLAGS)}
    assert view.find("Rating").get("maxRating") == "5" and view.find("Image").get("value") == "$image"
    sheet = list(csv.DictReader(io.StringIO(paths["review_sheet.csv"].read_text())))
    assert [r["image_id"] for r in sheet] == ["b1-1", "b1-2"] and sheet[0]["reviewer"] == ""


def label_studio_export(annotations_by_image: dict[str, list[tuple]]) -> list[dict]:
    """The shape Label Studio's JSON export writes: tasks with data and annotations[].result[]."""
    tasks = []
    for n, (image_id, marks) in enumerate(annotations_by_image.items(), start=1):
        tasks.append(
            {
                "id": n,
                "data": {"image": f"/img/{image_id}.png", "image_id": image_id, "batch": image_id[:2]},
                "annotations": [
                    {
                        "id": 10 * n + a,
                        "completed_by": who,
                        "was_cancelled": False,
                        "lead_time": 12.5,
                        "result": [
                            {
                                "id": "r1",
                                "from_name": "labels",
                                "to_name": "image",
                                "type": "choices",
                                "value": {"choices": labels},
                            },
                            {
                                "id": "r2",
                                "from_name": "relevance",
                                "to_name": "image",
                                "type": "rating",
                                "value": {"rating": rating},
                            },
                            {
                                "id": "r3",
                                "from_name": "flags",
                                "to_name": "image",
                                "type": "choices",
                                "value": {"choices": flags},
                            },
                        ],
                    }
                    for a, (who, labels, rating, flags) in enumerate(marks)
                ],
                "predictions": [],
            }
        )
    return tasks


def test_label_studio_export_and_csv_sheet_round_trip(captions, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    export = label_studio_export(
        {
            "b1-1": [
                (1, ["protest"], 4, []),
                ({"id": 2, "email": "ana@example.org"}, ["protest", "flyer"], 5, []),
            ],
            "b1-2": [(1, [], 1, ["not_relevant"])],
        }
    )
    (inbox / "project-1-export.json").write_text(json.dumps(export))
    queue = select_for_review(captions, images(), LABELS, per_batch=3)
    sheet_path = write_queue(tmp_path / "queue", "b1", queue[queue["batch"] == "b1"], LABELS)["review_sheet.csv"]
    rows = list(csv.DictReader(io.StringIO(sheet_path.read_text())))
    rows[0].update(reviewer="bo", labels="flyer; selfie", relevance="3", flags="")  # filled
    rows[1].update(reviewer="bo", labels="", relevance="2", flags="")  # reviewed: no label applies
    with (inbox / "sheet-bo.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)  # the third row stays blank: not reviewed, skipped

    reviews, outcomes = ingest_inbox(inbox, KNOWN, LABELS)
    assert all(o.accepted for o in outcomes) and [o.skipped for o in outcomes] == [0, 1]
    got = {
        (r.image_id, r.reviewer): (list(r.labels), r.relevance, list(r.flags), r.source_file)
        for r in reviews.itertuples()
    }
    first, second = rows[0]["image_id"], rows[1]["image_id"]
    assert got == {
        ("b1-1", "user-1"): (["protest"], 4, [], "project-1-export.json"),
        ("b1-1", "ana@example.org"): (["flyer", "protest"], 5, [], "project-1-export.json"),
        ("b1-2", "user-1"): ([], 1, ["not_relevant"], "project-1-export.json"),
        (first, "bo"): (["flyer", "selfie"], 3, [], "sheet-bo.csv"),
        (second, "bo"): ([], 2, [], "sheet-bo.csv"),
    }
    assert set(reviews["batch"]) == {"b1"} and reviews["review_id"].is_unique
    assert not list(inbox.glob("*.rejected.txt"))

    majority = human_majority(reviews, LABELS).set_index("image_id")
    # b1-1: protest 2 of 3 reviewers, flyer 2 of 3, selfie 1 of 3 (bo reviewed one of b1-1 / b1-2)
    votes = reviews[reviews["image_id"] == "b1-1"]
    expected = [lab for lab in LABELS if 2 * sum(lab in set(x) for x in votes["labels"]) > len(votes)]
    assert majority.loc["b1-1", "labels"] == expected

    scored = human_eval_scores(
        "b1",
        captions[captions["batch"] == "b1"],
        pd.DataFrame(
            {"image_id": list(KNOWN)[:3], "reference_caption": "c", "reference_labels": [["protest"]] * 3}
        ),
        reviews,
        LABELS,
        seed=1,
    ).set_index("model")
    assert scored.loc["llm", "n_scored"] == 2 and scored.loc["base", "n_reviews"] == len(reviews)
    agreement = human_agreement("b1", captions[captions["batch"] == "b1"], reviews, LABELS)
    assert {"humans", "model_vs_humans:base", "model_vs_humans:llm"} == set(agreement["comparison"])


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("unknown_image", "unknown image id 'b9-9'"),
        ("bad_label", "label 'riot' is not in the taxonomy"),
        ("bad_rating", "rating 7 is outside 1-5"),
    ],
)
def test_each_kind_of_bad_label_studio_file_is_rejected_whole(tmp_path, kind, expected):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = (1, ["protest"], 3, [])
    bad = {
        "unknown_image": ("b9-9", (2, ["protest"], 3, [])),
        "bad_label": ("b1-2", (2, ["riot"], 3, [])),
        "bad_rating": ("b1-2", (2, ["flyer"], 7, [])),
    }[kind]
    path = inbox / f"{kind}.json"
    path.write_text(json.dumps(label_studio_export({"b1-0": [good], bad[0]: [bad[1]]})))
    reviews, outcomes = ingest_inbox(inbox, KNOWN, LABELS)
    assert reviews.empty  # the good task of the same file is not half-ingested
    assert not outcomes[0].accepted
    report = report_path(path).read_text()
    assert "rejected whole" in report and expected in report and "task 2" in report
    # Fixing the file (new bytes) clears the report and takes it.
    path.write_text(json.dumps(label_studio_export({"b1-0": [good]})))
    reviews, outcomes = ingest_inbox(inbox, KNOWN, LABELS)
    assert len(reviews) == 1 and outcomes[0].accepted and not report_path(path).exists()


def test_bad_csv_sheet_names_every_bad_row_and_good_files_still_land(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-good.csv").write_text("image_id,reviewer,labels,relevance,flags\nb1-0,cy,protest,5,\n")
    (inbox / "b-bad.csv").write_text(
        "image_id,reviewer,labels,relevance,flags\n"
        "b1-0,dee,protest,5,\n"
        "nope,dee,protest,3,\n"
        "b1-1,dee,riot;flyer,0,\n"
        "b1-2,,flyer,2,\n"
        "b1-2,dee,flyer,2.5,swearing\n"
    )
    reviews, outcomes = ingest_inbox(inbox, KNOWN, LABELS)
    assert reviews["reviewer"].tolist() == ["cy"]
    report = report_path(inbox / "b-bad.csv").read_text()
    for problem in (
        "line 3 (image 'nope'): unknown image id 'nope'",
        "line 4 (image 'b1-1'): label 'riot'",
        "line 4 (image 'b1-1'): rating '0' is outside 1-5",
        "line 5 (image 'b1-2'): filled in but no reviewer",
        "line 6 (image 'b1-2'): rating '2.5' is outside 1-5",
        "line 6 (image 'b1-2'): flag 'swearing'",
    ):
        assert problem in report, problem
    assert "line 2" not in report
    assert not report_path(inbox / "a-good.csv").exists()


def test_malformed_files_are_rejected_with_a_reason(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.json").write_text('[{"data": ')
    (inbox / "object.json").write_text(json.dumps({"tasks": []}))
    (inbox / "wrong.csv").write_text("a,b\n1,2\n")
    (inbox / "notes.txt").write_text("ignored: not a review file")
    reviews, outcomes = ingest_inbox(inbox, KNOWN, LABELS)
    assert reviews.empty and len(outcomes) == 3
    reasons = {o.path.name: o.errors[0] for o in outcomes}
    assert reasons["broken.json"].startswith("not valid JSON at line 1")
    assert "expected a JSON list of tasks" in reasons["object.json"]
    assert "missing column(s) image_id, labels, reviewer" in reasons["wrong.csv"]


def test_duplicate_review_in_one_file_and_fingerprint(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "dup.csv"
    path.write_text("image_id,reviewer,labels,relevance\nb1-0,cy,protest,5\nb1-0,cy,flyer,4\n")
    before = inbox_fingerprint(inbox)
    reviews, _ = ingest_inbox(inbox, KNOWN, LABELS)
    assert reviews.empty and "already reviewed image 'b1-0' in line 2" in report_path(path).read_text()
    assert inbox_fingerprint(inbox) == before  # the report is not a review file
    path.write_text("image_id,reviewer,labels,relevance\nb1-0,cy,protest,5\n")
    assert inbox_fingerprint(inbox) != before


def test_corrections_relabel_training_images_and_add_reviewed_ones():
    from workbench_dagster.reviews.corrections import corrected_training_set, held_out_for_versions

    train = pd.DataFrame(
        {
            "image_id": ["t0", "t1"],
            "sha256": ["s0", "s1"],
            "uri": ["u0", "u1"],
            "reference_labels": [["protest"], ["flyer"]],
        }
    )
    images = pd.DataFrame(
        {
            "image_id": ["t0", "t1", "n0", "n1", "n2"],
            "sha256": ["s0", "s1", "s2", "s3", "s4"],
            "uri": ["u0", "u1", "u2", "u3", "u4"],
            "status": ["ok", "ok", "ok", "ok", "failed"],
            "batch": ["t", "t", "n", "n", "n"],
        }
    )
    majority = pd.DataFrame(
        {"image_id": ["t0", "t1", "n0", "n2"], "labels": [["protest"], ["selfie"], ["flyer"], ["protest"]]}
    )
    corrected, n = corrected_training_set(train, images, majority)
    # t0 agrees with its reference (no change), t1 relabelled, n0 added, n2 failed to decode: not added.
    assert n == 2
    assert dict(zip(corrected["image_id"], corrected["reference_labels"])) == {
        "t0": ["protest"],
        "t1": ["selfie"],
        "n0": ["flyer"],
    }
    unchanged, none = corrected_training_set(train, images, majority.iloc[:0])
    assert none == 0 and unchanged.equals(train)
    prompts = pd.DataFrame(
        {
            "image_id": ["n0", "n1", "n2"],
            "reference_caption": ["c", "c", "c"],
            "reference_labels": [["flyer"], ["protest"], ["selfie"]],
        }
    )
    assert held_out_for_versions(prompts, images, set(corrected["image_id"]))["image_id"].tolist() == ["n1"]
