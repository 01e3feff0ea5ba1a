"""Humans in the loop: which images a person should look at, and the reviews they send back.

The queue picks, per batch, the images where the models disagree most or the baseline is least
sure of itself: there a human label teaches us the most. It is exported three ways under
`data/reviews/queue/<batch>/`: Label Studio tasks (`tasks.json`, the shape Label Studio
imports), the labeling config for the taxonomy (`labeling_config.xml`: label choices, a 1-5
relevance rating and content flags), and a CSV sheet for reviewers without Label Studio.

Reviews come back as files in `data/reviews/inbox/`: Label Studio JSON exports or filled CSV
sheets, several reviewers per image. A file is taken whole or not at all: one unknown image id,
one label outside the taxonomy or one rating outside 1-5 rejects the file, with a report next to
it (`<file>.rejected.txt`) naming every bad row. Fixing the file (new bytes) clears the report.
When two accepted files hold a review by the same reviewer of the same image, the file whose
name sorts last wins (files are read in name order).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
from upath import UPath

from workbench_dagster.storage.atomic import write_bytes_atomic

CONTENT_FLAGS = ("graphic_violence", "identifiable_minor", "personal_data", "misleading_text", "not_relevant")
QUEUE_PER_BATCH = 20
REVIEW_SUFFIXES = (".json", ".csv")
SHEET_COLUMNS = [
    "image_id",
    "batch",
    "image_uri",
    "model_labels",
    "reviewer",
    "labels",
    "relevance",
    "flags",
    "notes",
]
QUEUE_COLUMNS = [
    "batch",
    "image_id",
    "rank",
    "priority",
    "disagreement",
    "baseline_uncertainty",
    "n_models",
    "model_labels_json",
    "image_uri",
]
REVIEW_COLUMNS = [
    "review_id",
    "image_id",
    "batch",
    "reviewer",
    "labels",
    "relevance",
    "flags",
    "notes",
    "source_file",
    "source_sha256",
]


# --------------------------------------------------------------------------- the queue


def _binary_entropy(share: np.ndarray) -> np.ndarray:
    share = np.clip(share, 1e-12, 1 - 1e-12)
    return -(share * np.log2(share) + (1 - share) * np.log2(1 - share))


def review_priorities(captions: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per image: model disagreement (mean binary entropy of the models' yes-share per label, 0 when
    they all agree, 1 at a split vote) and baseline uncertainty (mean of 1 - |2p - 1| over the
    baseline's label probabilities, 1 at p = 0.5); priority is their mean over what is known."""
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])] if len(captions) else captions
    rows = []
    for (batch, image_id), group in ok.groupby(["batch", "image_id"], sort=True):
        votes = np.array([[label in set(chosen) for label in labels] for chosen in group["labels"]], dtype=float)
        disagreement = float(_binary_entropy(votes.mean(axis=0)).mean()) if len(group) >= 2 and labels else None
        probabilities = []
        for raw in group.loc[group["backend"] == "baseline", "label_scores_json"].dropna():
            scores = json.loads(raw)
            probabilities += [float(scores[label]) for label in labels if label in scores]
        uncertainty = float(np.mean([1 - abs(2 * p - 1) for p in probabilities])) if probabilities else None
        known = [v for v in (disagreement, uncertainty) if v is not None]
        rows.append(
            {
                "batch": batch,
                "image_id": image_id,
                "priority": float(np.mean(known)) if known else 0.0,
                "disagreement": disagreement,
                "baseline_uncertainty": uncertainty,
                "n_models": len(group),
                "model_labels_json": json.dumps(
                    dict(zip(group["model"], (sorted(x) for x in group["labels"]))), sort_keys=True
                ),
            }
        )
    return pd.DataFrame(rows, columns=[c for c in QUEUE_COLUMNS if c not in ("rank", "image_uri")])


def select_for_review(
    captions: pd.DataFrame, images: pd.DataFrame, labels: list[str], per_batch: int = QUEUE_PER_BATCH
) -> pd.DataFrame:
    """The `per_batch` highest-priority images of every batch (ties broken by image id)."""
    priorities = review_priorities(captions, labels)
    uris = dict(zip(images["image_id"], images["uri"])) if len(images) else {}
    picked = []
    for _, group in priorities.groupby("batch", sort=True):
        top = group.sort_values(["priority", "image_id"], ascending=[False, True]).head(per_batch).copy()
        top["rank"] = range(1, len(top) + 1)
        picked.append(top)
    if not picked:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    queue = pd.concat(picked, ignore_index=True)
    queue["image_uri"] = queue["image_id"].map(uris)
    return queue[QUEUE_COLUMNS]


def label_studio_tasks(queue: pd.DataFrame) -> list[dict]:
    """Tasks as Label Studio imports them: `data` holds what the labeling config refers to ($image)."""
    return [
        {
            "data": {
                "image": row.image_uri,
                "image_id": row.image_id,
                "batch": row.batch,
                "priority": round(float(row.priority), 4),
                "model_labels": row.model_labels_json,
            }
        }
        for row in queue.itertuples(index=False)
    ]


def labeling_config(
    labels: list[str], names: dict[str, str] | None = None, flags: tuple[str, ...] = CONTENT_FLAGS
) -> str:
    """Label Studio labeling config: multi-choice taxonomy labels, a 1-5 relevance rating, content flags."""
    names = names or {}
    choices = "\n".join(
        f"    <Choice value={quoteattr(label)} hint={quoteattr(names.get(label, label))}/>" for label in labels
    )
    flag_choices = "\n".join(f"    <Choice value={quoteattr(flag)}/>" for flag in flags)
    return (
        "<View>\n"
        '  <Image name="image" value="$image"/>\n'
        '  <Header value="Which labels apply?"/>\n'
        f'  <Choices name="labels" toName="image" choice="multiple" showInline="true">\n{choices}\n  </Choices>\n'
        '  <Header value="How relevant is the image to the movement (1-5)?"/>\n'
        '  <Rating name="relevance" toName="image" maxRating="5" icon="star" size="medium"/>\n'
        '  <Header value="Content flags"/>\n'
        f'  <Choices name="flags" toName="image" choice="multiple">\n{flag_choices}\n  </Choices>\n'
        '  <TextArea name="notes" toName="image" editable="true" rows="2"/>\n'
        "</View>\n"
    )


def review_sheet(queue: pd.DataFrame) -> str:
    """The CSV a reviewer fills in: one row per image; copy a row for a second reviewer."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SHEET_COLUMNS)
    writer.writeheader()
    for row in queue.itertuples(index=False):
        models = json.loads(row.model_labels_json)
        writer.writerow(
            {
                "image_id": row.image_id,
                "batch": row.batch,
                "image_uri": row.image_uri,
                "model_labels": "; ".join(f"{m}: {','.join(v)}" for m, v in models.items()),
                "reviewer": "",
                "labels": "",
                "relevance": "",
                "flags": "",
                "notes": "",
            }
        )
    return buffer.getvalue()


def write_queue(
    queue_dir: Path, batch: str, queue: pd.DataFrame, labels: list[str], names: dict[str, str] | None = None
) -> dict[str, Path]:
    """Files are written to temporary names and renamed, so a reviewer never opens half a file."""
    folder = Path(queue_dir) / batch
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "tasks.json": json.dumps(label_studio_tasks(queue), indent=2, ensure_ascii=False),
        "labeling_config.xml": labeling_config(labels, names),
        "review_sheet.csv": review_sheet(queue),
    }
    paths = {}
    for name, text in contents.items():
        paths[name] = folder / name
        write_bytes_atomic(UPath(paths[name]), text.encode("utf-8"))
    return paths


# --------------------------------------------------------------------------- the inbox


@dataclass
class ParsedFile:
    path: Path
    sha256: str
    reviews: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0

    @property
    def accepted(self) -> bool:
        return not self.errors


def _reviewer_of(completed_by) -> str | None:
    if isinstance(completed_by, dict):
        return (
            str(completed_by.get("email") or completed_by.get("username") or completed_by.get("id") or "") or None
        )
    if completed_by is None or completed_by == "":
        return None
    return f"user-{completed_by}" if isinstance(completed_by, int) else str(completed_by)


def _rating(value, where: str, errors: list[str]) -> int | None:
    if (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and math.isnan(value))
    ):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.append(f"{where}: rating {value!r} is not a number from 1 to 5")
        return None
    if not number.is_integer() or not 1 <= number <= 5:
        errors.append(f"{where}: rating {value!r} is outside 1-5")
        return None
    return int(number)


def _check_review(
    where: str,
    image_id,
    labels: list[str],
    flags: list[str],
    known: dict[str, str],
    taxonomy: set[str],
    allowed_flags: set[str],
    errors: list[str],
) -> None:
    if image_id not in known:
        errors.append(f"{where}: unknown image id {image_id!r}")
    for label in labels:
        if label not in taxonomy:
            errors.append(f"{where}: label {label!r} is not in the taxonomy")
    for flag in flags:
        if flag not in allowed_flags:
            errors.append(f"{where}: flag {flag!r} is not one of {', '.join(sorted(allowed_flags))}")


def _parse_label_studio(data, known, taxonomy, allowed_flags, parsed: ParsedFile) -> None:
    if not isinstance(data, list):
        parsed.errors.append("not a Label Studio export: expected a JSON list of tasks")
        return
    for t, task in enumerate(data, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            parsed.errors.append(f"task {t}: no 'data' object")
            continue
        image_id = task["data"].get("image_id")
        task_name = f"task {t} (id {task.get('id', '?')}, image {image_id!r})"
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            parsed.errors.append(f"{task_name}: 'annotations' is not a list")
            continue
        for a, annotation in enumerate(annotations, start=1):
            where = f"{task_name}, annotation {a}"
            if not isinstance(annotation, dict):
                parsed.errors.append(f"{where}: not an object")
                continue
            if annotation.get("was_cancelled"):
                parsed.skipped += 1
                continue
            reviewer = _reviewer_of(annotation.get("completed_by"))
            if reviewer is None:
                parsed.errors.append(f"{where}: no 'completed_by' reviewer")
            labels, flags, rating, notes = [], [], None, None
            for result in annotation.get("result") or []:
                if not isinstance(result, dict):
                    parsed.errors.append(f"{where}: a result is not an object")
                    continue
                value = result.get("value") or {}
                kind, name = result.get("type"), result.get("from_name")
                if kind == "choices" and name == "flags":
                    flags += list(value.get("choices") or [])
                elif kind == "choices":
                    labels += list(value.get("choices") or [])
                elif kind == "rating":
                    rating = _rating(value.get("rating"), where, parsed.errors)
                elif kind == "textarea":
                    notes = " ".join(value.get("text") or []) or None
            _check_review(where, image_id, labels, flags, known, taxonomy, allowed_flags, parsed.errors)
            parsed.reviews.append(
                {
                    "image_id": image_id,
                    "reviewer": reviewer,
                    "labels": sorted(set(labels)),
                    "relevance": rating,
                    "flags": sorted(set(flags)),
                    "notes": notes,
                    "where": where,
                }
            )


def _split(cell) -> list[str]:
    if cell is None:
        return []
    return [part.strip() for part in str(cell).replace(";", ",").split(",") if part.strip()]


def _parse_sheet(text: str, known, taxonomy, allowed_flags, parsed: ParsedFile) -> None:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"image_id", "reviewer", "labels"} - set(reader.fieldnames or [])
    if missing:
        parsed.errors.append(f"not a review sheet: missing column(s) {', '.join(sorted(missing))}")
        return
    for line, row in enumerate(reader, start=2):
        reviewer = (row.get("reviewer") or "").strip()
        labels, flags = _split(row.get("labels")), _split(row.get("flags"))
        relevance = (row.get("relevance") or "").strip()
        where = f"line {line} (image {row.get('image_id')!r})"
        if not reviewer and not labels and not flags and not relevance:
            parsed.skipped += 1  # a row nobody filled in
            continue
        if not reviewer:
            parsed.errors.append(f"{where}: filled in but no reviewer")
        rating = _rating(relevance, where, parsed.errors)
        image_id = (row.get("image_id") or "").strip()
        _check_review(where, image_id, labels, flags, known, taxonomy, allowed_flags, parsed.errors)
        parsed.reviews.append(
            {
                "image_id": image_id,
                "reviewer": reviewer,
                "labels": sorted(set(labels)),
                "relevance": rating,
                "flags": sorted(set(flags)),
                "notes": (row.get("notes") or "").strip() or None,
                "where": where,
            }
        )


def parse_review_file(
    path: Path, known: dict[str, str], taxonomy: list[str], flags: tuple[str, ...] = CONTENT_FLAGS
) -> ParsedFile:
    """known: image id -> batch. Every problem is collected, so the report names every bad row."""
    path = Path(path)
    raw = path.read_bytes()
    parsed = ParsedFile(path=path, sha256=hashlib.sha256(raw).hexdigest())
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.errors.append(f"not UTF-8 text: {exc}")
        return parsed
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            parsed.errors.append(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
            return parsed
        _parse_label_studio(data, known, set(taxonomy), set(flags), parsed)
    else:
        _parse_sheet(text, known, set(taxonomy), set(flags), parsed)
    seen: dict[tuple, str] = {}
    for review in parsed.reviews:
        key = (review["image_id"], review["reviewer"])
        if key in seen and review["reviewer"]:
            parsed.errors.append(
                f"{review['where']}: reviewer {review['reviewer']!r} already reviewed image "
                f"{review['image_id']!r} in {seen[key]}"
            )
        seen.setdefault(key, review["where"])
    if not parsed.reviews and not parsed.errors:
        parsed.errors.append("no completed review in the file")
    return parsed


def report_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".rejected.txt")


def review_files(inbox: Path) -> list[Path]:
    inbox = Path(inbox)
    if not inbox.is_dir():
        return []
    return sorted(
        p
        for p in inbox.iterdir()
        if p.is_file() and p.suffix.lower() in REVIEW_SUFFIXES and not p.name.startswith(".")
    )


def ingest_inbox(
    inbox: Path, known: dict[str, str], taxonomy: list[str], flags: tuple[str, ...] = CONTENT_FLAGS
) -> tuple[pd.DataFrame, list[ParsedFile]]:
    """Every accepted file's reviews (later files win per image and reviewer), and every file's outcome.

    A rejected file gets `<file>.rejected.txt`; an accepted one has any stale report removed.
    """
    outcomes, rows = [], {}
    for path in review_files(inbox):
        parsed = parse_review_file(path, known, taxonomy, flags)
        outcomes.append(parsed)
        report = report_path(path)
        if not parsed.accepted:
            report.write_text(
                f"{path.name} was rejected whole; nothing from it was ingested.\n"
                f"sha256: {parsed.sha256}\n{len(parsed.errors)} problem(s):\n"
                + "".join(f"- {e}\n" for e in parsed.errors),
                encoding="utf-8",
            )
            continue
        report.unlink(missing_ok=True)
        for review in parsed.reviews:
            rows[(review["image_id"], review["reviewer"])] = {
                "review_id": hashlib.sha256(f"{review['image_id']}|{review['reviewer']}".encode()).hexdigest()[
                    :16
                ],
                "image_id": review["image_id"],
                "batch": known[review["image_id"]],
                "reviewer": review["reviewer"],
                "labels": review["labels"],
                "relevance": review["relevance"],
                "flags": review["flags"],
                "notes": review["notes"],
                "source_file": path.name,
                "source_sha256": parsed.sha256,
            }
    df = pd.DataFrame(list(rows.values()), columns=REVIEW_COLUMNS)
    df["relevance"] = df["relevance"].astype("Int64")
    return df.sort_values(["batch", "image_id", "reviewer"], ignore_index=True), outcomes


def inbox_fingerprint(inbox: Path) -> str:
    """Content hash of every review file: a file that lands again with new bytes changes it."""
    digest = hashlib.sha256()
    for path in review_files(inbox):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- humans as raters


def human_majority(reviews: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Per image, the labels more than half of its reviewers chose (a tie leaves the label out)."""
    rows = []
    for image_id, group in reviews.groupby("image_id", sort=True):
        counts = {label: sum(label in set(chosen) for chosen in group["labels"]) for label in labels}
        rows.append(
            {
                "image_id": image_id,
                "labels": [lab for lab in labels if counts[lab] * 2 > len(group)],
                "n_reviewers": len(group),
            }
        )
    return pd.DataFrame(rows, columns=["image_id", "labels", "n_reviewers"])
