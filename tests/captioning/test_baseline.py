from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import f1_score, hamming_loss
from sklearn.preprocessing import MultiLabelBinarizer

from workbench_dagster.captioning.baseline import (
    BaselineModel,
    BaselineParams,
    template_caption,
    train_baseline,
    training_fingerprint,
)
from workbench_dagster.generation.procedural import render_image
from workbench_dagster.scenario.prompts import expand_batch
from workbench_dagster.scenario.scenario_file import load_scenario
from workbench_dagster.storage.media import decode_image

SCENARIO = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "atropia.yaml")
TAXONOMY = SCENARIO.label_ids
SEED = 20261122


def render(batch: str, n: int) -> tuple[list[Image.Image], list[list[str]]]:
    prompts = expand_batch(SCENARIO, batch, n, SEED)
    images = [decode_image(render_image(p.spec, 320, 240, p.seed)) for p in prompts]
    return images, [p.reference_labels for p in prompts]


@pytest.fixture(scope="module")
def train_set():
    return render("train", 160)


@pytest.fixture(scope="module")
def heldout_set():
    return render("heldout", 64)


@pytest.fixture(scope="module")
def tiny_set(train_set):
    images, labels = train_set
    return images[:24], labels[:24]


TINY = {"channels": 4, "epochs": 2, "batch_size": 8}


# --- params ------------------------------------------------------------------------------


def test_params_defaults_and_overrides():
    assert BaselineParams.from_dict({}) == BaselineParams(
        channels=16, epochs=30, lr=3e-3, batch_size=32, weight_decay=1e-4
    )
    params = BaselineParams.from_dict({"channels": 24, "lr": 1, "weight_decay": 0})
    assert (params.channels, params.lr, params.weight_decay) == (24, 1.0, 0.0)
    assert isinstance(params.lr, float)


def test_unknown_param_is_named():
    with pytest.raises(ValueError, match="'chanels'"):
        BaselineParams.from_dict({"chanels": 16})


@pytest.mark.parametrize(
    "bad", [{"channels": 0}, {"epochs": -1}, {"channels": 2.5}, {"lr": "fast"}, {"epochs": True}]
)
def test_bad_param_values_are_rejected(bad):
    with pytest.raises(ValueError, match=repr(next(iter(bad)))):
        BaselineParams.from_dict(bad)


# --- fingerprint and captions -------------------------------------------------------------


def test_fingerprint_tracks_everything_that_shapes_the_weights():
    args = dict(
        image_sha256s=["a" * 64, "b" * 64],
        labels=[["protest"], []],
        taxonomy=TAXONOMY,
        params={"channels": 8},
        image_size=64,
        seed=1,
    )
    base = training_fingerprint(**args)
    assert base == training_fingerprint(**args)
    assert len(base) == 64
    changes = [
        {"labels": [["protest"], ["solidarity"]]},
        {"image_sha256s": ["a" * 64, "c" * 64]},
        {"params": {"channels": 9}},
        {"image_size": 32},
        {"seed": 2},
        {"taxonomy": TAXONOMY[::-1]},
    ]
    for change in changes:
        assert training_fingerprint(**{**args, **change}) != base, change
    # Spelling out a default trains the same model, so it must reuse the same checkpoint.
    assert training_fingerprint(**{**args, "params": {"channels": 8, "epochs": 30}}) == base


def test_template_caption():
    names = {t.id: t.name for t in SCENARIO.taxonomy}
    assert (
        template_caption(["protest", "signs_banners", "landmarks_buildings"], names)
        == "An image showing protest, signs or banners and statues, landmarks or buildings."
    )
    assert template_caption(["solidarity"], names) == "An image showing solidarity."
    assert template_caption([], names) == "An image with no recognised scene elements."


# --- training mechanics -------------------------------------------------------------------


def test_training_is_deterministic_and_leaves_global_state_alone(tiny_set):
    images, labels = tiny_set
    torch.manual_seed(123)
    rng_before = torch.get_rng_state()
    first = train_baseline(images, labels, TAXONOMY, TINY, 32, "cpu", seed=5)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert not torch.are_deterministic_algorithms_enabled()
    second = train_baseline(images, labels, TAXONOMY, TINY, 32, "cpu", seed=5)
    other = train_baseline(images, labels, TAXONOMY, TINY, 32, "cpu", seed=6)
    np.testing.assert_array_equal(first.predict_proba(images), second.predict_proba(images))
    assert first.history == second.history
    assert not np.array_equal(first.predict_proba(images), other.predict_proba(images))
    assert len(first.history) == TINY["epochs"]
    assert first.fingerprint and first.fingerprint != other.fingerprint


def test_outputs_and_save_load_round_trip(tiny_set, tmp_path):
    images, labels = tiny_set
    model = train_baseline(images, labels, TAXONOMY, TINY, 32, "cpu", seed=5, fingerprint="f" * 64)
    proba = model.predict_proba(images)
    assert proba.shape == (24, len(TAXONOMY))
    assert proba.dtype == np.float32 and ((proba >= 0) & (proba <= 1)).all()
    assert model.features(images).shape == (24, 4 * TINY["channels"])
    assert model.predict_proba([]).shape == (0, len(TAXONOMY))
    for row, predicted in zip(proba, model.predict_labels(images, threshold=0.5)):
        assert predicted == [label for label, p in zip(TAXONOMY, row) if p >= 0.5]

    path = tmp_path / "nested" / "model.pt"
    model.save(path)
    loaded = BaselineModel.load(path, "cpu")
    np.testing.assert_array_equal(loaded.predict_proba(images), proba)
    np.testing.assert_array_equal(loaded.features(images), model.features(images))
    assert loaded.fingerprint == "f" * 64
    assert loaded.taxonomy == TAXONOMY
    assert loaded.params == model.params
    assert loaded.image_size == 32
    assert loaded.history == model.history


def test_labels_outside_the_taxonomy_are_rejected(tiny_set):
    images, labels = tiny_set
    with pytest.raises(ValueError, match="'riot'"):
        train_baseline(images[:2], [["riot"], []], TAXONOMY, TINY, 32, "cpu", seed=1)
    with pytest.raises(ValueError, match="2 images but 1 label"):
        train_baseline(images[:2], labels[:1], TAXONOMY, TINY, 32, "cpu", seed=1)


# --- the point of it all --------------------------------------------------------------------


def test_baseline_beats_the_majority_predictor_on_heldout_images(train_set, heldout_set):
    train_images, train_labels = train_set
    heldout_images, heldout_labels = heldout_set
    model = train_baseline(
        train_images, train_labels, TAXONOMY, {"channels": 12, "epochs": 20}, 64, "cpu", seed=SEED
    )
    assert model.history[-1] < model.history[0] / 3

    binarizer = MultiLabelBinarizer(classes=TAXONOMY)
    y_train = binarizer.fit_transform(train_labels)
    y_true = binarizer.transform(heldout_labels)
    majority = np.tile((y_train.mean(axis=0) > 0.5).astype(int), (len(y_true), 1))
    predicted = binarizer.transform(model.predict_labels(heldout_images, threshold=0.5))

    f1_model = f1_score(y_true, predicted, average="micro", zero_division=0)
    f1_majority = f1_score(y_true, majority, average="micro", zero_division=0)
    assert f1_model > f1_majority + 0.3
    assert f1_model > 0.6
    assert hamming_loss(y_true, predicted) <= hamming_loss(y_true, majority)
