"""Shared fixtures: a tiny config in a temporary folder, so tests never touch `data/`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.gpu` tests need CUDA; without it they are skipped, not failed (`make test-gpu` runs them)."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def write_config(folder: Path, **overrides) -> Path:
    shutil.copy(ROOT / "scenarios" / "atropia.yaml", folder / "atropia.yaml")
    config = {
        "scenario": "atropia.yaml",
        "seed": 11,
        "data_dir": "data",
        "warehouse": "data/warehouse.duckdb",
        "landing_dir": "data/landing",
        "batches": [{"id": "train", "n_images": 48}, {"id": "b001", "n_images": 12}],
        "images": {"backend": "procedural", "width": 160, "height": 120},
        "comments": {"backend": "template", "per_image": 2},
        "baseline": {"train_batch": "train", "image_size": 32, "threshold": 0.5},
        "models": [
            {"id": "base-a", "backend": "baseline", "params": {"channels": 8, "epochs": 3}},
            {"id": "base-b", "backend": "baseline", "params": {"channels": 8, "epochs": 2, "lr": 0.01}},
        ],
        "graph": {"k": 5, "min_similarity": 0.1},
    }
    config.update(overrides)
    path = folder / "workbench.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def tiny_config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def scenario():
    from workbench_dagster.scenario import load_scenario

    return load_scenario(ROOT / "scenarios" / "atropia.yaml")
