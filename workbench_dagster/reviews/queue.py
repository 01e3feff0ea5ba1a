"""Which images a person should look at: the review queue and the files a reviewer opens.

The queue picks, per batch, the images where the models disagree most or the baseline is least
sure of itself: there a human label teaches us the most. It is exported three ways under
`data/reviews/queue/<batch>/`: Label Studio tasks (`tasks.json`, the shape Label Studio
imports), the labeling config for the taxonomy (`labeling_config.xml`: label choices, a 1-5
relevance rating and content flags), and a CSV sheet for reviewers without Label Studio.
What reviewers send back is read by inbox.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
from upath import UPath

from workbench_dagster.storage.atomic import write_bytes_atomic

CONTENT_FLAGS = ("graphic_violence", "identifiable_minor", "personal_data", "misleading_text", "not_relevant")
QUEUE_PER_BATCH = 20
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
    folder = UPath(queue_dir) / batch  # a local folder or an object-store prefix
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
