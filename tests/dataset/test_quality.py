"""Quality metrics on constructed images, each against what the measure must say about them."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from workbench_dagster.dataset.quality import (
    construction_groups,
    hamming,
    hash_ints,
    image_metrics,
    image_quality,
    near_duplicates,
)


def _scene(seed: int, size=(160, 120)) -> Image.Image:
    """Random rectangles and ellipses: edges and colour everywhere, different for each seed."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.integers(0, size[0] - 20), rng.integers(0, size[1] - 20)
        box = (x0, y0, x0 + rng.integers(10, 60), y0 + rng.integers(10, 50))
        fill = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    return image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_blurred_image_has_a_lower_laplacian_variance():
    sharp = _scene(1)
    blurred = sharp.filter(ImageFilter.GaussianBlur(2))
    assert image_metrics(blurred)["sharpness"] < 0.5 * image_metrics(sharp)["sharpness"]


def test_brightness_contrast_and_colourfulness_follow_the_pixels():
    grey = Image.new("RGB", (40, 30), (128, 128, 128))
    metrics = image_metrics(grey)
    assert metrics["brightness"] == pytest.approx(128 / 255)
    assert metrics["contrast"] == 0.0 and metrics["colourfulness"] == 0.0 and metrics["sharpness"] == 0.0
    halves = Image.new("L", (40, 30), 0)
    halves.paste(255, (0, 0, 20, 30))
    assert image_metrics(halves)["contrast"] == pytest.approx(0.5)  # std of half 0, half 1
    scene = _scene(2)
    assert (
        image_metrics(ImageEnhance.Brightness(scene).enhance(0.4))["brightness"]
        < image_metrics(scene)["brightness"]
    )
    # Hasler-Suesstrunk on pure red: rg = 255, yb = 127.5, no spread: 0.3 * sqrt(255^2 + 127.5^2)
    red = image_metrics(Image.new("RGB", (8, 8), (255, 0, 0)))["colourfulness"]
    assert red == pytest.approx(0.3 * np.hypot(255, 127.5))
    assert (
        image_metrics(scene)["colourfulness"] > image_metrics(scene.convert("L").convert("RGB"))["colourfulness"]
    )
    assert (image_metrics(scene)["width"], image_metrics(scene)["height"]) == (160, 120)


def test_hamming_counts_differing_bits():
    a = hash_ints(["0000000000000000", "ffffffffffffffff", "000000000000000f"])
    assert hamming(a, a).tolist() == [[0, 64, 4], [64, 0, 60], [4, 60, 0]]


def _batch(images: dict[str, Image.Image], batch: str, store: dict) -> pd.DataFrame:
    rows = []
    for image_id, image in images.items():
        store[f"{image_id}.png"] = _png(image)
        rows.append(
            {"image_id": image_id, "batch": batch, "sha256": image_id, "uri": f"{image_id}.png", "status": "ok"}
        )
    return pd.DataFrame(rows)


def test_a_duplicate_with_a_small_change_is_found_within_and_across_batches():
    store: dict[str, bytes] = {}
    original = _scene(3)
    touched = original.copy()
    ImageDraw.Draw(touched).rectangle((5, 5, 8, 8), fill=(255, 255, 255))  # a few pixels changed
    resaved = Image.open(io.BytesIO(_jpeg(original)))  # re-encoded with loss
    a = _batch({"a-0": original, "a-1": touched, "a-2": _scene(4)}, "a", store)
    b = _batch({"b-0": resaved, "b-1": _scene(5)}, "b", store)
    failed = pd.DataFrame([{"image_id": "a-3", "batch": "a", "status": "failed", "error": "render crashed"}])
    quality_a = image_quality(pd.concat([a, failed], ignore_index=True), store.__getitem__, max_distance=2)
    row = quality_a.set_index("image_id")
    assert row.loc["a-0", "nearest_image_id"] == "a-1" and row.loc["a-0", "nearest_distance"] <= 2
    assert row.loc["a-0", "n_near_duplicates"] == 1 and row.loc["a-2", "n_near_duplicates"] == 0
    assert row.loc["a-3", "status"] == "failed" and row.loc["a-3", "error"] == "render crashed"  # kept
    quality = pd.concat([quality_a, image_quality(b, store.__getitem__, 2)], ignore_index=True)
    pairs = near_duplicates(quality, 2)
    found = {(r.image_a, r.image_b, r.scope) for r in pairs.itertuples()}
    assert ("a-0", "a-1", "within_batch") in found
    assert ("a-0", "b-0", "across_batches") in found
    assert not any("a-2" in (x, y) or "b-1" in (x, y) for x, y, _ in found)  # different pictures
    assert near_duplicates(quality, 0).empty or (near_duplicates(quality, 0)["distance"] == 0).all()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_a_counterfactual_redraw_is_a_pair_by_construction_not_a_duplicate_to_warn_about():
    store: dict[str, bytes] = {}
    original = _scene(6)
    redraw = original.copy()
    ImageDraw.Draw(redraw).rectangle((0, 0, 3, 3), fill=(0, 0, 0))  # one attribute changed, barely visible
    source = _batch({"b-0": original}, "b", store)
    cf = _batch({"cf-0": original, "cf-0-skin": redraw}, "cf", store)
    prompts = pd.DataFrame({"image_id": ["b-0", "cf-0", "cf-0-skin"], "original_image_id": [None, "b-0", "cf-0"]})
    groups = construction_groups(prompts)
    assert groups == {"cf-0": "b-0", "cf-0-skin": "b-0"}
    quality_cf = image_quality(cf, store.__getitem__, 2, groups)
    assert (quality_cf["n_near_duplicates"] == 0).all()  # alike on purpose
    assert quality_cf.set_index("image_id").loc["cf-0", "nearest_image_id"] == "cf-0-skin"  # still shown
    quality = pd.concat([image_quality(source, store.__getitem__, 2, groups), quality_cf], ignore_index=True)
    pairs = near_duplicates(quality, 2, groups)
    assert len(pairs) == 3 and set(pairs["scope"]) == {"counterfactual_pair"}
    assert set(near_duplicates(quality, 2)["scope"]) == {"within_batch", "across_batches"}  # without groups
