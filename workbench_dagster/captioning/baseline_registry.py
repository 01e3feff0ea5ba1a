"""Trained baseline checkpoints, reused whenever the training data and settings are unchanged."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from workbench_dagster.scenario.config import ModelConfig, WorkbenchConfig
from workbench_dagster.storage.image_store import ImageStore

REGISTRY_COLUMNS = [
    "model",
    "fingerprint",
    "checkpoint",
    "train_batch",
    "n_train",
    "trained",
    "train_seconds",
    "final_loss",
    "device",
]


def training_set(prompts: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
    merged = images[images["status"] == "ok"].merge(prompts[["image_id", "reference_labels"]], on="image_id")
    if merged.empty:
        raise ValueError("the training batch has no decodable images with reference labels")
    return merged.sort_values("image_id").reset_index(drop=True)


def training_checkpoint(
    config: WorkbenchConfig, model: ModelConfig, train: pd.DataFrame
) -> tuple[list[list[str]], str, Path]:
    """The label lists, fingerprint and checkpoint path for `model` trained on `train` (columns
    sha256, reference_labels): the same images, labels and settings name the same file."""
    from workbench_dagster.captioning.baseline import training_fingerprint

    labels = [list(x) for x in train["reference_labels"]]
    fingerprint = training_fingerprint(
        list(train["sha256"]),
        labels,
        config.scenario_data.label_ids,
        model.params,
        config.baseline.image_size,
        config.seed,
    )
    return labels, fingerprint, config.models_dir / f"{model.id}-{fingerprint[:16]}.pt"


def train_checkpoint(
    config: WorkbenchConfig,
    model: ModelConfig,
    train: pd.DataFrame,
    labels: list[list[str]],
    fingerprint: str,
    checkpoint: Path,
    store: ImageStore,
    device: str,
):
    """Train `model` on `train`'s images (column uri) and `labels`, and save it at `checkpoint`."""
    from workbench_dagster.captioning.baseline import train_baseline
    from workbench_dagster.storage.media import decode_image

    pictures = [decode_image(store.get(uri)) for uri in train["uri"]]
    fitted = train_baseline(
        pictures,
        labels,
        config.scenario_data.label_ids,
        model.params,
        config.baseline.image_size,
        device,
        config.seed,
        fingerprint=fingerprint,
    )
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    fitted.save(checkpoint)
    return fitted


def ensure_baseline(
    config: WorkbenchConfig,
    model: ModelConfig,
    prompts: pd.DataFrame,
    images: pd.DataFrame,
    store: ImageStore,
    device: str,
) -> dict:
    from workbench_dagster.captioning.baseline import BaselineModel

    train = training_set(prompts, images)
    labels, fingerprint, checkpoint = training_checkpoint(config, model, train)
    started = time.perf_counter()
    if checkpoint.exists():
        trained = False
        fitted = BaselineModel.load(checkpoint, device)
    else:
        trained = True
        fitted = train_checkpoint(config, model, train, labels, fingerprint, checkpoint, store, device)
    return {
        "model": model.id,
        "fingerprint": fingerprint,
        "checkpoint": str(checkpoint),
        "train_batch": config.baseline.train_batch,
        "n_train": len(train),
        "trained": trained,
        "train_seconds": round(time.perf_counter() - started, 3),
        "final_loss": float(fitted.history[-1]) if fitted.history else None,
        "device": device,
    }
