"""The `ai_image_detector` table: every image of every batch with its provenance ground truth, its
split and the detector's P(generated), or the reason there is no score.

Training needs `min_per_class` labelled training images of each kind. Without them (the offline
demo: every image is the Workbench's own, none is a camera's) nothing is trained and no image is
read; every row says `not_trained` and the reason, so the absence of a score is visible, not blank.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

SCORE_COLUMNS = [
    "image_id",
    "batch",
    "sha256",
    "source",
    "provenance",
    "ground_truth",
    "split",
    "p_generated",
    "predicted_generated",
    "status",
    "fingerprint",
]
STATUSES = ("scored", "not_trained", "not_stored")
SPLITS = ("train", "heldout", "unlabelled")
THRESHOLD = 0.5


def _frame(provenance: pd.DataFrame, images: pd.DataFrame, heldout_fraction: float) -> pd.DataFrame:
    from workbench_dagster.provenance import detector as det  # torch: not imported with the table's columns

    uris = images.drop_duplicates("image_id").set_index("image_id")["uri"] if len(images) else pd.Series()
    df = provenance.drop_duplicates("image_id").reset_index(drop=True).copy()
    df["uri"] = df["image_id"].map(uris)
    stored = df["sha256"].notna() & df["uri"].notna()
    labelled = df["ground_truth"].isin(list(det.LABELS))
    df["split"] = [
        det.split_of(sha, heldout_fraction) if is_labelled and is_stored else "unlabelled"
        for sha, is_labelled, is_stored in zip(df["sha256"], labelled, stored)
    ]
    df["status"] = np.where(stored, "not_trained", "not_stored")
    df["p_generated"], df["predicted_generated"], df["fingerprint"] = np.nan, None, None
    return df


def _decode(read: Callable[[str], bytes], uris) -> list:
    from PIL import Image

    images = []
    for uri in uris:
        image = Image.open(io.BytesIO(read(uri)))
        image.load()
        images.append(image)
    return images


def detector_scores(
    provenance: pd.DataFrame,
    images: pd.DataFrame,
    read: Callable[[str], bytes],
    settings,
    seed: int,
    models_dir: Path,
) -> tuple[pd.DataFrame, dict]:
    """(the table, what happened: status, reason, counts, checkpoint, whether it trained now)."""
    from workbench_dagster.provenance import detector as det

    df = _frame(provenance, images, settings.heldout_fraction)
    train_rows = df[df["split"] == "train"].sort_values("sha256").drop_duplicates("sha256")
    counts = {kind: int((train_rows["ground_truth"] == kind).sum()) for kind in det.LABELS}
    info = {"n_train_generated": counts["generated"], "n_train_camera": counts["camera"], "checkpoint": None}
    short = [kind for kind, n in counts.items() if n < settings.min_per_class]
    if short:
        reason = (
            f"not trained: {', '.join(f'{counts[k]} {k}' for k in short)} training image(s), "
            f"provenance.detector.min_per_class is {settings.min_per_class}"
        )
        return df[SCORE_COLUMNS], {**info, "status": "not_trained", "reason": reason, "trained_now": False}
    labels = [det.LABELS[kind] for kind in train_rows["ground_truth"]]
    params = {"crop": settings.crop, "epochs": settings.epochs}
    fp = det.fingerprint(list(train_rows["sha256"]), labels, params, seed)
    path = models_dir / "ai_image_detector" / f"{fp[:20]}.pt"
    started, trained_now = time.perf_counter(), not path.exists()
    if trained_now:
        model = det.train(_decode(read, train_rows["uri"]), labels, settings.crop, settings.epochs, seed, fp)
        model.save(path)
    else:
        model = det.Detector.load(path)
    stored = df["status"] != "not_stored"
    scores = model.score(_decode(read, df.loc[stored, "uri"]))
    df.loc[stored, "p_generated"] = scores
    df.loc[stored, "predicted_generated"] = list(scores >= THRESHOLD)
    df.loc[stored, "status"], df.loc[stored, "fingerprint"] = "scored", fp
    return df[SCORE_COLUMNS], {
        **info,
        "status": "scored",
        "reason": "trained" if trained_now else "checkpoint reused",
        "checkpoint": str(path),
        "trained_now": trained_now,
        "final_loss": model.history[-1] if model.history else None,
        "seconds": round(time.perf_counter() - started, 2),
    }
