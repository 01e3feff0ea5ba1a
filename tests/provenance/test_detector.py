"""ai_image_detector learns generated from camera images and is evaluated on held-out ones, with intervals.

No real photo exists offline, so the test plants a second image family: smooth random fields with
per-pixel sensor noise, saved as PNG with a camera's EXIF, landed next to the Workbench's own
procedural images. Their provenance (declared-camera vs c2pa-verified generated) is the ground truth.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.helpers import write_config
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.generation.images import make_images
from workbench_dagster.provenance.evaluate import METRICS, evaluate_detector
from workbench_dagster.provenance.identity import load_or_create
from workbench_dagster.provenance.scoring import detector_scores
from workbench_dagster.provenance.table import provenance_rows
from workbench_dagster.scenario.batches import batch_prompts
from workbench_dagster.scenario.config import DetectorConfig, load_config
from workbench_dagster.storage.image_store import ImageStore


def camera_like(rng: np.random.Generator, width: int = 320, height: int = 240) -> bytes:
    """The planted "camera" family: a smooth random scene plus Gaussian sensor noise, with camera EXIF."""
    field = rng.normal(size=(height // 24 + 2, width // 24 + 2, 3))
    field = (field - field.min()) / np.ptp(field) * 170 + 40
    scene = Image.fromarray(field.astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    noisy = np.asarray(scene, dtype=float) + rng.normal(0, 7, size=(height, width, 3))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Planted", "Noise Camera 1"
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(config, store, provenance of both batches, synthetic_images of both batches)."""
    tmp = tmp_path_factory.mktemp("detector")
    config = load_config(write_config(tmp, batches=[{"id": "train", "n_images": 40}]))
    store, cache = ImageStore(config.image_store_uri), CallCache(config.cache_dir)
    folder = config.landing_dir / "planted_camera"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(40):
        (folder / f"cam_{i:02d}.png").write_bytes(camera_like(rng))
    trust = load_or_create(config.provenance_identity_dir).ca_pem
    images, tables = [], []
    for batch in ("train", "planted_camera"):
        df, _ = make_images(config, batch_prompts(config, batch), store, cache)
        images.append(df)
        tables.append(provenance_rows(df, store.get, trust))
    return config, store, pd.concat(tables, ignore_index=True), pd.concat(images, ignore_index=True)


def test_planted_family_is_labelled_camera_by_its_provenance(corpus):
    _, _, provenance, _ = corpus
    truth = provenance.groupby("batch")["ground_truth"].agg(set).to_dict()
    assert truth == {"train": {"generated"}, "planted_camera": {"camera"}}


def test_detector_beats_chance_on_held_out_images_with_an_interval(corpus):
    config, store, provenance, images = corpus
    settings = DetectorConfig()
    scores, info = detector_scores(provenance, images, store.get, settings, config.seed, config.models_dir)
    assert info["status"] == "scored" and info["trained_now"]
    assert set(scores["status"]) == {"scored"} and scores["p_generated"].between(0, 1).all()
    held = scores[scores["split"] == "heldout"]
    assert set(held["ground_truth"]) == {"generated", "camera"}
    evaluation = evaluate_detector(scores, seed=config.seed, n_boot=500).set_index("metric")
    assert list(evaluation.index) == list(METRICS)
    for metric in ("balanced_accuracy", "roc_auc"):
        row = evaluation.loc[metric]
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
        assert row["ci_low"] > 0.5, f"{metric}: interval {row['ci_low']:.2f}-{row['ci_high']:.2f} includes chance"
    # the same corpus again: the checkpoint is reused and scores are identical
    again, info_again = detector_scores(provenance, images, store.get, settings, config.seed, config.models_dir)
    assert not info_again["trained_now"]
    np.testing.assert_allclose(again["p_generated"], scores["p_generated"])


def test_without_camera_images_nothing_is_trained_and_no_rate_is_invented(corpus):
    config, store, provenance, images = corpus
    own = provenance[provenance["batch"] == "train"]
    scores, info = detector_scores(own, images, store.get, DetectorConfig(), config.seed, config.models_dir)
    assert info["status"] == "not_trained" and "0 camera" in info["reason"]
    assert set(scores["status"]) == {"not_trained"} and scores["p_generated"].isna().all()
    evaluation = evaluate_detector(scores, seed=config.seed)
    assert evaluation["estimate"].isna().all() and evaluation["note"].str.contains("no rate").all()


def test_a_label_swap_is_caught_by_the_evaluation(corpus):
    """The evaluation can fail: scores that say the opposite of the truth give a rate below chance."""
    config, store, provenance, images = corpus
    scores, _ = detector_scores(provenance, images, store.get, DetectorConfig(), config.seed, config.models_dir)
    swapped = scores.assign(p_generated=1 - scores["p_generated"])
    auc = evaluate_detector(swapped, seed=config.seed, n_boot=200).set_index("metric").loc["roc_auc"]
    assert auc["ci_high"] < 0.5
