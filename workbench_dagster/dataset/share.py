"""One scenario's dataset export, end to end: records from the pipeline's tables, then the folder, the
zip, the Croissant metadata, the datasheet and the dataset card (export.py writes them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from workbench_dagster.dataset.balance import attribute_summary, dataset_balance
from workbench_dagster.dataset.croissant import croissant_metadata
from workbench_dagster.dataset.datasheet import PAINTER_SHORTCUTS, dataset_card, datasheet, license_url
from workbench_dagster.dataset.export import sha256_file, write_export
from workbench_dagster.dataset.quality import summary
from workbench_dagster.dataset.records import build_records
from workbench_dagster.scenario.config import WorkbenchConfig

NO_PROVENANCE = "no provenance table was given to this export: no provenance columns."


@dataclass(frozen=True)
class Tables:
    """The pipeline's tables the export reads, every batch of them."""

    prompts: pd.DataFrame
    images: pd.DataFrame
    comments: pd.DataFrame
    captions: pd.DataFrame
    quality: pd.DataFrame
    duplicates: pd.DataFrame
    provenance: pd.DataFrame | None = None


def export_name(config: WorkbenchConfig) -> str:
    return f"workbench-{config.scenario_data.id}"


def export_dir(config: WorkbenchConfig):
    """<data_dir>/share/dataset/<scenario id>/ (a zip beside it)."""
    return config.data_dir / "share" / "dataset" / config.scenario_data.id


def _about(config: WorkbenchConfig, name: str) -> dict:
    scenario = config.scenario_data
    return {
        "name": name,
        "description": (
            f"Synthetic social-media images of the fictional scenario '{scenario.title}', each drawn from a "
            "structured spec, with its prompt, spec, reference labels and caption (ground truth by "
            "construction), every caption model's labels and caption, synthetic comments, quality scores "
            "and provenance."
        ),
        "license": license_url(config.dataset.license),
        "url": f"https://huggingface.co/datasets/{name}",  # where a user would publish it; not fetched
        "version": "1.0.0",
        "date_published": datetime.now(UTC).strftime("%Y-%m-%d"),
        "creator": "AI Workbench",
        "keywords": ["synthetic data", "multimodal LLM evaluation", "social movements", scenario.id],
        "citation": f"AI Workbench synthetic dataset '{name}', scenario {scenario.id}, seed {config.seed}.",
        "data_collection": (
            "Generated, not collected: prompts are expanded from the scenario file with seeded draws, "
            f"images by the {config.images.backend} image backend, comments by the "
            f"{config.comments.backend} backend, captions by the configured caption models."
        ),
        "data_biases": " ".join(PAINTER_SHORTCUTS)
        if config.images.backend == "procedural"
        else "See datasheet.md.",
        "data_use_cases": (
            "Testing and teaching the evaluation of image-labelling and captioning models on a corpus whose "
            "ground truth is known; not a substitute for real posts."
        ),
    }


def _documents(config, name, manifest, balance, quality, n_pairs, provenance_note):
    def write(folder: Path) -> None:
        sheet = datasheet(config, manifest, balance, quality, n_pairs, provenance_note)
        (folder / "datasheet.md").write_text(sheet, encoding="utf-8")
        (folder / "README.md").write_text(dataset_card(config, name, export_dir(config).name), encoding="utf-8")
        files = {
            p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
        }
        metadata = croissant_metadata(folder, files, _about(config, name))
        (folder / "croissant.json").write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False), encoding="utf-8"
        )

    return write


def export_dataset(config: WorkbenchConfig, tables: Tables, read, provenance_note: str = NO_PROVENANCE):
    """Writes the export; returns (manifest, info: folder, zip, files, balance summary, counts)."""
    records, manifest = build_records(
        tables.prompts,
        tables.images,
        tables.comments,
        tables.captions,
        tables.quality,
        tables.duplicates,
        config.baseline.train_batch,
        tables.provenance,
    )
    included = set(manifest.loc[manifest["included"], "image_id"])
    cfg = config.dataset
    exported = tables.prompts[tables.prompts["image_id"].isin(included)] if len(tables.prompts) else tables.prompts
    balance = attribute_summary(
        dataset_balance(config.scenario_data, exported, "(export)", cfg.balance_max_js, cfg.balance_alpha)
    )
    quality = summary(tables.quality[tables.quality["image_id"].isin(included)]) if len(tables.quality) else {}
    duplicates = tables.duplicates
    n_pairs = (
        int((duplicates["image_a"].isin(included) & duplicates["image_b"].isin(included)).sum())
        if len(duplicates)
        else 0
    )
    name = export_name(config)
    documents = _documents(config, name, manifest, balance, quality, n_pairs, provenance_note)
    info = write_export(export_dir(config), records, read, documents)
    return manifest, {**info, "name": name, "balance": balance, "n_records": len(records), "n_pairs": n_pairs}
