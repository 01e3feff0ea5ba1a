"""What a batch holds: prompts expanded from the scenario, or files from a landing folder."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pandas as pd

from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.generation.counterfactual import CF_COLUMNS, counterfactual_rows
from workbench_dagster.keys import sanitize_key
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.scenario.prompts import derive_seed, expand_batch, make_spec
from workbench_dagster.storage.landing import LandedFile, find_landing_folder, read_landing_folder

PROMPT_COLUMNS = [
    "image_id",
    "batch",
    "index",
    "prompt",
    "spec_json",
    "reference_labels",
    "reference_caption",
    "seed",
    "source",
    "source_file",
    *CF_COLUMNS,  # counterfactual batches only (generation/counterfactual.py); None elsewhere
]
NOT_PAIRED = dict.fromkeys(CF_COLUMNS)


def batch_prompts(config: WorkbenchConfig, batch: str) -> pd.DataFrame:
    """Configured batches expand from the scenario; landing batches list their files, with no reference."""
    folder = find_landing_folder(config.landing_dir, batch)
    if folder is not None:
        return landing_prompts(folder, batch, config.seed)
    batch_config = config.batch(batch)
    if batch_config is None:
        raise WorkbenchConfigError(
            f"batch {batch!r} is neither in 'batches' of {config.source_path} nor a folder in {config.landing_dir}"
        )
    if batch_config.kind == "counterfactual":
        return counterfactual_prompts(config, batch)
    prompts = expand_batch(config.scenario_data, batch, batch_config.n_images, config.seed)
    rows = [{**p.as_row(), "source": config.images.backend, "source_file": None, **NOT_PAIRED} for p in prompts]
    return pd.DataFrame(rows, columns=PROMPT_COLUMNS)


def counterfactual_prompts(config: WorkbenchConfig, batch: str) -> pd.DataFrame:
    """A counterfactual batch: held-out specs of its source batch, each redrawn as it was and with one
    attribute changed (generation/counterfactual.py). The config guarantees the source is a held-out
    prompt batch."""
    batch_config = config.batch(batch)
    source = config.batch(batch_config.source)
    scenario = config.scenario_data
    rows = counterfactual_rows(
        scenario,
        batch,
        expand_batch(scenario, source.id, source.n_images, config.seed),
        batch_config.n_images,
        batch_config.attributes,
        config.seed,
        painted=config.images.backend == "procedural",
    )
    rows = [{**row, "source": config.images.backend, "source_file": None} for row in rows]
    return pd.DataFrame(rows, columns=PROMPT_COLUMNS)


def _landing_image_id(batch: str, file: LandedFile) -> str:
    """Top-level files keep the ids they always had; a nested file's folders join its stem, and a
    refused entry, having no bytes, is told apart by a hash of its name."""
    stem = Path(file.name).with_suffix("").as_posix()
    try:
        label = sanitize_key(stem)
    except ValueError:  # a name with no Latin letter or digit, e.g. a stem in another script
        label = "file"
    digest = file.sha256 or hashlib.sha256(f"refused\0{file.name}".encode()).hexdigest()
    return f"{batch}-{label}-{digest[:8]}"


def landing_prompts(folder: Path, batch: str, seed: int) -> pd.DataFrame:
    """One row per landing entry, refused ones included, so every entry ends as an image or a failure row."""
    landed = read_landing_folder(folder)
    rows, seen = [], set()
    for index, file in enumerate(landed.files):
        image_id = _landing_image_id(batch, file)
        if image_id in seen:  # `a.png` and `a.jpg` with the same bytes, or `a/b.png` next to `a_b.png`
            image_id = f"{image_id}-{index}"
        seen.add(image_id)
        rows.append(
            {
                "image_id": image_id,
                "batch": batch,
                "index": index,
                "prompt": None,
                "spec_json": None,
                "reference_labels": [],
                "reference_caption": None,
                "seed": derive_seed(seed, batch, file.name),
                "source": "folder",
                "source_file": str(file.path),
                **NOT_PAIRED,
            }
        )
    return pd.DataFrame(rows, columns=PROMPT_COLUMNS)


def comment_spec(config: WorkbenchConfig, row: dict) -> dict:
    """Landing images have no spec; their synthetic comments draw one from the scenario instead."""
    import json

    if row.get("spec_json"):
        return json.loads(row["spec_json"])
    return make_spec(config.scenario_data, random.Random(int(row["seed"])))
