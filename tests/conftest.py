"""Shared fixtures: a tiny config in a temporary folder, so tests never touch `data/`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import ROOT, write_config

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


@pytest.fixture
def tiny_config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def scenario():
    from workbench_dagster.scenario.scenario_file import load_scenario

    return load_scenario(ROOT / "scenarios" / "atropia.yaml")
