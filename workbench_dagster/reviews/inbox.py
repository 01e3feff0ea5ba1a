"""The reviews people send back: Label Studio exports and filled CSV sheets in `data/reviews/inbox/`.

Several reviewers per image. A file is taken whole or not at all: one unknown image id, one
label outside the taxonomy or one rating outside 1-5 rejects the file, with a report next to
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

import pandas as pd
from upath import UPath

from workbench_dagster.reviews.queue import CONTENT_FLAGS

REVIEW_SUFFIXES = (".json", ".csv")
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


@dataclass(frozen=True)
class _Allowed:
    """What a review may name: image id -> batch, the taxonomy's labels, the content flags."""

    images: dict[str, str]
    labels: set[str]
    flags: set[str]


def _add_review(
    parsed: ParsedFile, allowed: _Allowed, where: str, image_id, reviewer, labels, flags, rating, notes
) -> None:
    """The review is kept even when it breaks a rule: the duplicate check needs every row, and the
    rules' errors already reject the whole file."""
    if image_id not in allowed.images:
        parsed.errors.append(f"{where}: unknown image id {image_id!r}")
    for label in labels:
        if label not in allowed.labels:
            parsed.errors.append(f"{where}: label {label!r} is not in the taxonomy")
    for flag in flags:
        if flag not in allowed.flags:
            parsed.errors.append(f"{where}: flag {flag!r} is not one of {', '.join(sorted(allowed.flags))}")
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


def _parse_label_studio(data, allowed: _Allowed, parsed: ParsedFile) -> None:
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
            _add_review(parsed, allowed, where, image_id, reviewer, labels, flags, rating, notes)


def _split(cell) -> list[str]:
    if cell is None:
        return []
    return [part.strip() for part in str(cell).replace(";", ",").split(",") if part.strip()]


def _parse_sheet(text: str, allowed: _Allowed, parsed: ParsedFile) -> None:
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
        notes = (row.get("notes") or "").strip() or None
        _add_review(parsed, allowed, where, image_id, reviewer, labels, flags, rating, notes)


def parse_review_file(
    path: Path, known: dict[str, str], taxonomy: list[str], flags: tuple[str, ...] = CONTENT_FLAGS
) -> ParsedFile:
    """known: image id -> batch. Every problem is collected, so the report names every bad row."""
    path = UPath(path)
    raw = path.read_bytes()
    parsed = ParsedFile(path=path, sha256=hashlib.sha256(raw).hexdigest())
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.errors.append(f"not UTF-8 text: {exc}")
        return parsed
    allowed = _Allowed(images=known, labels=set(taxonomy), flags=set(flags))
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            parsed.errors.append(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
            return parsed
        _parse_label_studio(data, allowed, parsed)
    else:
        _parse_sheet(text, allowed, parsed)
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
    return UPath(path).with_name(UPath(path).name + ".rejected.txt")


def review_files(inbox: Path) -> list[Path]:
    inbox = UPath(inbox)  # a local folder or an object-store prefix
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
