"""The dataset export built from a small run of the generation stage (prompts, painted images, template
comments, two caption models' rows, quality, duplicates, provenance read back from the stored bytes),
then loaded back with Hugging Face `datasets` offline and checked row by row, and its Croissant
metadata validated and read with mlcroissant."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.helpers import write_config
from workbench_dagster.captioning.rows import CAPTION_COLUMNS
from workbench_dagster.dataset.quality import image_quality, near_duplicates
from workbench_dagster.dataset.share import Tables, export_dataset, export_dir
from workbench_dagster.generation.comments import generate_comments
from workbench_dagster.generation.images import make_images
from workbench_dagster.scenario.batches import batch_prompts, comment_spec
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.prompts import derive_seed
from workbench_dagster.storage.image_store import ImageStore

BATCHES = [
    {"id": "train", "n_images": 6},
    {"id": "b001", "n_images": 5},
    # pair columns and a skin-tone palette only here: null in train, words in test
    {"id": "cf01", "kind": "counterfactual", "source": "b001", "n_images": 4},
]


def _captions(prompts: pd.DataFrame) -> pd.DataFrame:
    """Two models: one says the reference, one only its first label and fails on one image."""
    rows = []
    for i, p in enumerate(prompts.to_dict("records")):
        for model in ("model-a", "model-b"):
            failed = model == "model-b" and i == 2
            labels = list(p["reference_labels"]) if model == "model-a" else list(p["reference_labels"])[:1]
            rows.append(
                {
                    **dict.fromkeys(CAPTION_COLUMNS),
                    "image_id": p["image_id"],
                    "batch": p["batch"],
                    "model": model,
                    "backend": "baseline",
                    "model_kind": "baseline",
                    "labels": [] if failed else labels,
                    "caption": None if failed else f"{model}: {p['reference_caption']}",
                    "parse_status": "error" if failed else "ok",
                    "error": "planted failure" if failed else None,
                }
            )
    return pd.DataFrame(rows, columns=CAPTION_COLUMNS)


def _comments(config, prompts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for p in prompts.to_dict("records"):
        seed = derive_seed(config.seed, "comments", p["image_id"])
        for c in generate_comments(config.scenario_data, p["image_id"], comment_spec(config, p), 2, seed):
            rows.append({**c, "batch": p["batch"]})
    return pd.DataFrame(rows)


def _provenance(config, images: pd.DataFrame) -> pd.DataFrame:
    from workbench_dagster.provenance import identity
    from workbench_dagster.provenance.table import provenance_rows

    pem = identity.load_or_create(config.provenance_identity_dir).ca_pem
    return provenance_rows(images, ImageStore(config.image_store_uri).get, pem)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    config = load_config(write_config(folder, batches=BATCHES))
    store = ImageStore(config.image_store_uri)
    from workbench_dagster.captioning.call_cache import CallCache

    cache = CallCache(config.cache_dir / "calls")
    prompts = pd.concat([batch_prompts(config, b["id"]) for b in BATCHES], ignore_index=True)
    images, _ = make_images(config, prompts, store, cache)
    quality = pd.concat(
        [image_quality(images[images["batch"] == b["id"]], store.get, 2) for b in BATCHES], ignore_index=True
    )
    # a planted near-duplicate pair across batches, so `near_duplicates` has something to carry
    duplicates = near_duplicates(quality, 2)
    planted = pd.DataFrame(
        [
            {
                "image_a": "b001-00000",
                "batch_a": "b001",
                "image_b": "train-00000",
                "batch_b": "train",
                "distance": 0,
                "scope": "across_batches",
            }
        ]
    )
    duplicates = pd.concat([duplicates, planted], ignore_index=True)
    tables = Tables(
        prompts=prompts,
        images=images,
        comments=_comments(config, prompts),
        captions=_captions(prompts),
        quality=quality,
        duplicates=duplicates,
        provenance=_provenance(config, images),
    )
    manifest, info = export_dataset(config, tables, store.get, "read back from each image's C2PA manifest.")
    return config, tables, manifest, info


def test_every_row_loads_back_with_datasets_offline(run, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from datasets import load_dataset

    config, tables, manifest, info = run
    root = Path(info["folder"])
    cache = tmp_path / "hf-cache"  # a cache of its own: never an earlier run's rows
    splits = load_dataset("imagefolder", data_dir=str(root / "images"), cache_dir=str(cache))
    assert set(splits) == {"train", "test"}
    assert set(splits["train"]["batch"]) == {"train"} and set(splits["test"]["batch"]) == {"b001", "cf01"}
    ds = [row for split in ("train", "test") for row in splits[split]]
    assert len(ds) == len(tables.images) == manifest["included"].sum()
    prompts = tables.prompts.set_index("image_id")
    images = tables.images.set_index("image_id")
    quality = tables.quality.set_index("image_id")
    captions = tables.captions.set_index(["image_id", "model"])
    comments = tables.comments.groupby("image_id")["text"].apply(sorted)
    for row in ds:
        image_id = row["image_id"]
        p = prompts.loc[image_id]
        assert row["prompt"] == p["prompt"]
        assert row["seed"] == p["seed"]
        assert json.loads(row["spec_json"]) == json.loads(p["spec_json"])
        assert row["spec_scene_type"] == json.loads(p["spec_json"])["scene_type"]
        assert row["reference_labels"] == list(p["reference_labels"])
        assert row["reference_caption"] == p["reference_caption"]
        assert row["is_training_batch"] == (p["batch"] == "train")
        # the image is the stored file, byte for byte
        stored = ImageStore(config.image_store_uri).get(images.loc[image_id, "uri"])
        assert row["sha256"] == hashlib.sha256(stored).hexdigest() == images.loc[image_id, "sha256"]
        assert row["image"].size == (images.loc[image_id, "width"], images.loc[image_id, "height"])
        assert row["sharpness"] == pytest.approx(quality.loc[image_id, "sharpness"])
        assert row["phash"] == quality.loc[image_id, "phash"]
        assert [c["model"] for c in row["captions"]] == ["model-a", "model-b"]
        for c in row["captions"]:
            expected = captions.loc[(image_id, c["model"])]
            caption = None if pd.isna(expected["caption"]) else expected["caption"]  # a failure has none
            assert c["caption"] == caption and c["parse_status"] == expected["parse_status"]
            assert c["labels"] == list(expected["labels"])
        assert sorted(c["text"] for c in row["comments"]) == comments.loc[image_id]
        assert row["provenance"] in {"c2pa-verified", "declared-synthetic", "declared-camera", "none"}
    by_id = {r["image_id"]: r for r in ds}
    roles = {r["cf_role"] for r in ds if r["batch"] == "cf01"}
    assert "counterfactual" in roles and roles <= {"original", "counterfactual"}
    assert {r["cf_role"] for r in ds if r["batch"] != "cf01"} == {None}
    assert by_id["train-00000"]["near_duplicates"] == ["b001-00000"]
    assert "train-00000" in by_id["b001-00000"]["near_duplicates"]


def test_the_parquet_holds_the_same_rows_and_the_zip_the_same_files(run):
    _, tables, _, info = run
    root = Path(info["folder"])
    table = pq.read_table(root / "dataset.parquet").to_pandas()
    assert sorted(table["image_id"]) == sorted(tables.images["image_id"])
    assert "uri" not in table.columns  # a path on the exporting machine means nothing elsewhere
    flat = pq.read_table(root / "captions.parquet").to_pandas()
    assert len(flat) == len(tables.captions)
    with zipfile.ZipFile(io.BytesIO(Path(info["zip"]).read_bytes())) as archive:
        names = {n.removeprefix(f"{root.name}/") for n in archive.namelist()}
        assert names == set(info["files"])
        for name in ("croissant.json", "datasheet.md", "README.md", "images/train/metadata.parquet"):
            assert name in names
        png = next(n for n in names if n.endswith(".png"))
        assert hashlib.sha256(archive.read(f"{root.name}/{png}")).hexdigest() == info["files"][png]


def test_the_datasheet_names_scenario_generators_seeds_shortcuts_and_license(run):
    config, _, _, info = run
    sheet = (Path(info["folder"]) / "datasheet.md").read_text(encoding="utf-8")
    for needle in (
        config.scenario_data.title,
        "procedural painter",
        str(config.seed),
        "Known shortcuts",
        "language motif",
        "CC-BY-4.0",
        "model-a" if False else "base-a",
        "not_recorded",
    ):
        assert needle in sheet, needle
    card = (Path(info["folder"]) / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlicense: cc-by-4.0\n")


def test_failed_and_landing_images_are_listed_not_exported(tmp_path):
    from workbench_dagster.dataset.records import build_records

    images = pd.DataFrame(
        [
            {
                "image_id": "b-1",
                "batch": "b",
                "status": "failed",
                "error": "render crashed",
                "source": "procedural",
            },
            {
                "image_id": "l-1",
                "batch": "l",
                "status": "ok",
                "error": None,
                "source": "folder",
                "uri": "x.png",
                "sha256": "0" * 64,
            },
        ]
    )
    prompts = pd.DataFrame(
        [
            {"image_id": "b-1", "batch": "b", "spec_json": None, "source": "procedural"},
            {"image_id": "l-1", "batch": "l", "spec_json": None, "source": "folder"},
        ]
    )
    empty = pd.DataFrame(columns=["image_id"])
    records, manifest = build_records(prompts, images, empty, empty, empty, pd.DataFrame(), "train")
    assert records == []
    reasons = dict(zip(manifest["image_id"], manifest["reason"]))
    assert reasons["b-1"] == "image failed: render crashed"
    assert reasons["l-1"].startswith("landing image")


def test_croissant_validates_and_reads_back_with_mlcroissant(run):
    mlc = pytest.importorskip("mlcroissant")
    _, tables, _, info = run
    path = Path(info["folder"]) / "croissant.json"
    dataset = mlc.Dataset(jsonld=str(path))  # raises on a validation error
    rows = list(dataset.records(record_set="images"))
    assert sorted(r["images/image_id"].decode() for r in rows) == sorted(tables.images["image_id"])
    captions = list(dataset.records(record_set="captions"))
    assert len(captions) == len(tables.captions)
    files = list(dataset.records(record_set="image_files"))
    assert len(files) == len(tables.images)


def test_export_dir_is_under_data_dir_per_scenario(run):
    config, _, _, info = run
    assert Path(info["folder"]) == export_dir(config) == config.data_dir / "share" / "dataset" / "atropia"
    assert os.path.exists(info["zip"]) and info["zip"].endswith("atropia.zip")


def test_an_image_whose_bytes_changed_stops_the_export_and_leaves_no_half_folder(tmp_path):
    from workbench_dagster.dataset.export import ExportError, write_export

    record = {
        "image_id": "b-1",
        "batch": "b",
        "split": "test",
        "file_name": "images/test/b-1.png",
        "uri": "store/abc.png",
        "sha256": hashlib.sha256(b"old").hexdigest(),
        "captions": [],
        "comments": [],
    }
    dest = tmp_path / "share" / "atropia"
    with pytest.raises(ExportError, match=r"store/abc.png: the stored bytes of b-1 do not match"):
        write_export(dest, [record], lambda uri: b"new", lambda folder: None)
    assert not dest.exists() and not (tmp_path / "share" / "atropia.zip").exists()
    assert list((tmp_path / "share").iterdir()) == []  # the scratch folder is gone too
