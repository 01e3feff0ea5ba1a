"""Prompt sensitivity: Krippendorff's alpha over variants on known input (by hand and against the
`krippendorff` package), the table of a planted model whose labels follow one variant's wording, and
the variant prompt and config rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.evaluation.prompt_sensitivity import (
    ANSWER_FORMAT,
    alpha_of_counts,
    package_alpha,
    sensitivity_table,
    variant_prompt,
)
from workbench_dagster.scenario.config import ModelConfig, load_config

LABELS = ["a", "b", "c"]


def _alpha(cube: np.ndarray, weights=None) -> float:
    ones = cube.sum(axis=0)
    n_raters, n_images, n_labels = cube.shape
    w = np.ones((1, n_images)) if weights is None else weights
    return float(
        alpha_of_counts(ones.sum(axis=1), (ones * (n_raters - ones)).sum(axis=1), n_raters, n_labels, w)[0]
    )


def test_alpha_of_a_hand_worked_example():
    # raters A = 1 1 0 0, B = 1 0 0 0 on four yes/no units: 3 yes of 8 values, one disagreeing unit
    # D_o = 2/8, D_e = 2*3*5/(8*7), alpha = 1 - (2/8) / (30/56) = 8/15
    cube = np.array([[[1], [1], [0], [0]], [[1], [0], [0], [0]]], dtype=float)
    assert _alpha(cube) == pytest.approx(8 / 15)
    assert package_alpha(cube) == pytest.approx(8 / 15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_equals_the_package_on_random_ratings(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((40, 4)) < 0.4
    cube = np.stack([np.where(rng.random(truth.shape) < 0.15, ~truth, truth) for _ in range(3)]).astype(float)
    assert _alpha(cube) == pytest.approx(package_alpha(cube), abs=1e-12)


def test_image_weights_count_an_image_as_often_as_it_is_drawn():
    rng = np.random.default_rng(4)
    cube = (rng.random((3, 10, 2)) < 0.5).astype(float)
    counts = np.array([[2, 0, 1, 1, 3, 0, 1, 1, 0, 1]], dtype=float)
    repeated = np.repeat(cube, counts[0].astype(int), axis=1)
    assert _alpha(cube, counts) == pytest.approx(package_alpha(repeated), abs=1e-12)


def test_perfect_agreement_is_one_and_no_variation_has_no_alpha():
    cube = np.array([[[1, 0], [0, 1]], [[1, 0], [0, 1]]], dtype=float)
    assert _alpha(cube) == pytest.approx(1.0)
    assert np.isnan(_alpha(np.ones((2, 3, 2))))


def _captions(rng, n=60):
    """Variant `default` is right on every image, `es` on none of label b, `en` right again."""
    truth = [sorted({"a", "b", "c"} & {x for x in "abc" if rng.random() < 0.5}) or ["a"] for _ in range(n)]
    ids = [f"b001-{i:03d}" for i in range(n)]
    prompts = pd.DataFrame({"image_id": ids, "batch": "b001", "reference_labels": truth, "reference_caption": "x"})
    rows = []
    for variant, wrong in (("default", set()), ("es", {"b"}), ("en", set())):
        for image_id, labels in zip(ids, truth):
            chosen = [label for label in labels if label not in wrong]
            rows.append(
                {
                    "image_id": image_id,
                    "batch": "b001",
                    "labels": chosen,
                    "parse_status": "ok",
                    "prompt_variant": variant,
                }
            )
    rows[-1]["parse_status"] = "error"  # one failure of `en`: that image leaves every variant's figures
    return pd.DataFrame(rows), prompts


def test_a_model_whose_labels_follow_the_wording():
    model = ModelConfig(
        id="m",
        backend="openai",
        model="x",
        prompt_variants=[
            {"id": "es", "text": "Etiqueta la imagen", "language": "es"},
            {"id": "en", "text": "Label it"},
        ],
    )
    captions, prompts = _captions(np.random.default_rng(0))
    df = sensitivity_table(model, captions, prompts, LABELS, seed=3, n_boot=300).set_index("prompt_variant")
    assert list(df.index) == ["default", "es", "en"]
    assert (df["n_images"] == 59).all() and df.loc["en", "n_failed"] == 1
    assert df.loc["default", "f1_micro"] == pytest.approx(1.0) and df.loc["es", "f1_micro"] < 0.9
    assert df.loc["default", "f1_spread"] == pytest.approx(1.0 - df.loc["es", "f1_micro"])
    mean = df["f1_micro"].mean()
    assert df.loc["en", "f1_variant_mean"] == pytest.approx(mean)
    assert df.loc["es", "f1_spread_ci_low"] > 0  # the wording matters beyond chance
    assert 0 < df.iloc[0]["krippendorff_alpha"] < 1
    assert df.iloc[0]["alpha_ci_low"] <= df.iloc[0]["krippendorff_alpha"] <= df.iloc[0]["alpha_ci_high"]
    assert df.iloc[0]["best_variant"] in ("default", "en") and df["is_best"].sum() == 1
    assert set(df["varied"]) == {"prompt"} and df.loc["es", "language"] == "es"


def test_no_shared_image_gives_counts_and_no_figures():
    model = ModelConfig(id="base", backend="baseline", prompt_variants=[{"id": "eager", "threshold": 0.3}])
    empty = pd.DataFrame(columns=["image_id", "batch", "labels", "parse_status", "prompt_variant"])
    prompts = pd.DataFrame(columns=["image_id", "batch", "reference_labels", "reference_caption"])
    df = sensitivity_table(model, empty, prompts, LABELS, default_threshold=0.5)
    assert list(df["prompt_variant"]) == ["default", "eager"] and (df["n_images"] == 0).all()
    assert df[["f1_micro", "krippendorff_alpha", "f1_spread", "f1_micro_ci_low"]].isna().all().all()
    assert list(df["threshold"]) == [0.5, 0.3] and set(df["varied"]) == {"threshold"}


def test_variant_prompt_places_the_taxonomy_and_keeps_the_answer_format():
    names = {"a": "A thing", "b": "B", "c": "C"}
    placed = variant_prompt("Etiquetas:\n{taxonomy}\nY una leyenda.", LABELS, names)
    assert placed.startswith("Etiquetas:\n- a: A thing\n- b: B\n- c: C\nY una leyenda.")
    assert placed.endswith(ANSWER_FORMAT)
    assert variant_prompt("Label it.", LABELS, names).startswith("Label it.\n- a: A thing")


@pytest.mark.parametrize(
    "model, message",
    [
        ({"backend": "baseline", "prompt_variants": [{"id": "v", "text": "hi"}]}, "reads no prompt"),
        ({"backend": "openai", "model": "x", "prompt_variants": [{"id": "v", "threshold": 0.2}]}, "give `text`"),
        ({"backend": "baseline", "prompt_variants": [{"id": "default", "threshold": 0.2}]}, "is not 'default'"),
        (
            {
                "backend": "baseline",
                "prompt_variants": [{"id": "v", "threshold": 0.2}, {"id": "v", "threshold": 0.3}],
            },
            "ids must be unique",
        ),
    ],
)
def test_a_variant_that_does_not_fit_its_backend_fails_the_load(tmp_path, model, message):
    from tests.helpers import write_config

    path = write_config(tmp_path, models=[{"id": "m", **model}])
    with pytest.raises(WorkbenchConfigError, match=message) as raised:
        load_config(path)
    assert "prompt_variants" in str(raised.value) and str(path) in str(raised.value)


def test_a_model_without_variants_has_its_f1_and_no_agreement_or_spread():
    model = ModelConfig(id="m", backend="openai", model="x")
    captions, prompts = _captions(np.random.default_rng(1))
    df = sensitivity_table(model, captions[captions["prompt_variant"] == "default"], prompts, LABELS, n_boot=100)
    assert list(df["prompt_variant"]) == ["default"] and df.iloc[0]["f1_micro"] == pytest.approx(1.0)
    assert df[["krippendorff_alpha", "f1_spread", "alpha_ci_low", "f1_spread_ci_low"]].isna().all().all()
    assert df.iloc[0]["f1_variant_mean"] == pytest.approx(1.0) and df.iloc[0]["best_variant"] == "default"
