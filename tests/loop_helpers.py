"""Small shared builders for the caption-loop and backend tests (real PNG bytes, real cache)."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from workbench_dagster.captioning import ImageInput

IDS = ["protest", "signs_banners", "small_group", "flyer_es", "solidarity"]
NAMES = {"protest": "protest", "signs_banners": "signs or banners", "small_group": "small group of people",
         "flyer_es": "digital flyer in Spanish", "solidarity": "solidarity"}


def png(i: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256)).save(buffer, format="PNG")
    return buffer.getvalue()


def images(n: int, batch: str = "b001") -> list[ImageInput]:
    out = []
    for i in range(n):
        data = png(i)
        out.append(ImageInput(f"{batch}-{i:03d}", batch, hashlib.sha256(data).hexdigest(), data))
    return out
