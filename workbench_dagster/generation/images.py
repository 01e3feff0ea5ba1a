"""Turning prompt rows into stored images, with a failure row for every file that is not an image."""

from __future__ import annotations

import pandas as pd
from upath import UPath

from workbench_dagster.captioning.call_cache import CallCache, cache_key
from workbench_dagster.provenance.stamping import PROVENANCE_VERSION, Stamper
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.storage.image_store import IMAGE_EXTENSIONS, ImageStore
from workbench_dagster.storage.landing import read_landed_bytes

IMAGE_COLUMNS = ["image_id", "batch", "sha256", "uri", "width", "height", "source", "status", "error"]


def _stored_row(row: dict, store: ImageStore, data: bytes) -> dict:
    from workbench_dagster.storage.media import decode_image

    try:
        image = decode_image(data)
    except ValueError as exc:
        name = row.get("source_file") or row["image_id"]
        return {**_base(row), "status": "failed", "error": f"{name}: {exc}"}
    ext = IMAGE_EXTENSIONS.get(image.format or "PNG", "png")
    digest, uri, _ = store.put(data, ext)
    return {
        **_base(row),
        "sha256": digest,
        "uri": uri,
        "width": image.width,
        "height": image.height,
        "status": "ok",
        "error": None,
    }


def _base(row: dict) -> dict:
    return {
        "image_id": row["image_id"],
        "batch": row["batch"],
        "sha256": None,
        "uri": None,
        "width": None,
        "height": None,
        "source": row["source"],
    }


def _image_key(backend: str, model_id: str, prompt_version: str, rendered_prompt: str, decoding: dict) -> str:
    """The call-cache key of one picture: no input image, the image schema."""
    return cache_key(
        backend=backend,
        model_id=model_id,
        prompt_version=prompt_version,
        rendered_prompt=rendered_prompt,
        image_sha256="",
        decoding=decoding,
        schema_version="image-v1",
    )


def _render_key(config: WorkbenchConfig, row: dict, dtype=None) -> str:
    from workbench_dagster.generation.procedural import RENDERER_VERSION

    images = config.images
    if images.backend == "diffusers":  # same prompt text, seed, model and sampler settings: same picture
        model_id = f"{images.model}@{images.revision}" if images.revision else images.model
        decoding = {
            "width": images.width,
            "height": images.height,
            "seed": int(row["seed"]),
            "steps": images.steps,
            "guidance_scale": images.guidance_scale,
            "dtype": str(dtype).replace("torch.", ""),
        }
        return _image_key("diffusers", model_id, "prompt", row["prompt"], decoding)
    if images.backend == "gemini":  # an API image: the prompt and model decide (the seed is not honoured)
        return _image_key("gemini", images.model, "prompt", row["prompt"], {"seed": int(row["seed"])})
    decoding = {"width": config.images.width, "height": config.images.height, "seed": int(row["seed"])}
    return _image_key("procedural", RENDERER_VERSION, "spec", row["spec_json"], decoding)


def make_images(
    config: WorkbenchConfig,
    prompts: pd.DataFrame,
    store: ImageStore,
    cache: CallCache,
    device: str | None = None,
    dtype=None,
) -> tuple[pd.DataFrame, int]:
    """Returns the image rows and how many images were rendered (the rest came from the render cache).

    With images.backend: diffusers, `device`/`dtype` are the GPU resource's choice; the pipeline is
    loaded only at the first cache miss, and a generation that fails becomes a failure row.

    Every generated image is stamped with its provenance (XMP source type and a signed C2PA manifest,
    workbench_dagster/provenance/) before it is stored, so the stored sha256 is of the final bytes; a
    cached image stamped by an older provenance version is re-stamped from its stored pixels."""
    import json

    from workbench_dagster.generation.procedural import render_image

    generator = None
    if config.images.backend == "diffusers" and (device is None or dtype is None):
        from workbench_dagster.device import pick_device

        device, dtype = pick_device()
    rows, rendered, stamp = [], 0, Stamper(config, cache, store)
    for row in prompts.to_dict("records"):
        if row["source"] == "folder":
            try:
                data = read_landed_bytes(row["source_file"])  # no symlink, no FIFO
            except OSError as exc:
                rows.append({**_base(row), "status": "failed", "error": f"{row['source_file']}: {exc}"})
                continue
            rows.append(_stored_row(row, store, data))
            continue
        key = _render_key(config, row, dtype)
        known = cache.get(key)
        if known and UPath(known["uri"]).exists():
            if known.get("provenance") != PROVENANCE_VERSION:
                rows.append(_stamped_row(row, store, cache, key, stamp, store.get(known["uri"])))
                continue
            rows.append({**_base(row), **known, "status": "ok", "error": None})
            continue
        if config.images.backend == "diffusers":
            from workbench_dagster.backends.base import BackendError
            from workbench_dagster.backends.registry import make_image_backend

            generator = generator or make_image_backend(config.images, device=device, dtype=dtype)
            try:
                data = generator.generate(row["prompt"], int(row["seed"]))
            except (BackendError, RuntimeError, ValueError) as exc:
                rendered += 1
                rows.append({**_base(row), "status": "failed", "error": f"{row['image_id']}: diffusers: {exc}"})
                continue
        elif config.images.backend == "gemini":
            from workbench_dagster.backends.base import BackendError
            from workbench_dagster.backends.registry import make_image_backend
            from workbench_dagster.captioning.caption_loop import RetryPolicy, call_with_retry

            generator = generator or make_image_backend(config.images)  # BackendUnavailable: no key
            try:
                data, _ = call_with_retry(lambda g=generator, p=row["prompt"]: g.generate(p), RetryPolicy())
            except BackendError as exc:
                rendered += 1
                rows.append(
                    {**_base(row), "status": "failed", "error": f"{row['image_id']}: gemini: {exc.reason}"}
                )
                continue
        else:
            data = render_image(
                json.loads(row["spec_json"]), config.images.width, config.images.height, int(row["seed"])
            )
        rendered += 1
        rows.append(_stamped_row(row, store, cache, key, stamp, data))
    return pd.DataFrame(rows, columns=IMAGE_COLUMNS), rendered


def _stamped_row(row: dict, store: ImageStore, cache: CallCache, key: str, stamp: Stamper, data: bytes) -> dict:
    """Stamped, stored and cached; bytes no stamp can be written into become a failure row."""
    try:
        data = stamp(row, data)
    except ValueError as exc:
        return {**_base(row), "status": "failed", "error": f"{row['image_id']}: provenance not written: {exc}"}
    stored = _stored_row(row, store, data)
    if stored["status"] == "ok":
        cache.put(
            key, {**{k: stored[k] for k in ("sha256", "uri", "width", "height")}, "provenance": PROVENANCE_VERSION}
        )
    return stored


def contact_sheet(store: ImageStore, images: pd.DataFrame, n: int = 12, thumb: int = 96) -> bytes | None:
    """A grid of the first images, for a person glancing at a materialization."""
    import io

    from PIL import Image

    ok = images[images["status"] == "ok"].head(n)
    if ok.empty:
        return None
    columns = min(6, len(ok))
    rows = (len(ok) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * thumb, rows * thumb), "white")
    for i, uri in enumerate(ok["uri"]):
        tile = Image.open(io.BytesIO(store.get(uri))).convert("RGB")
        tile.thumbnail((thumb, thumb))
        sheet.paste(tile, ((i % columns) * thumb, (i // columns) * thumb))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
