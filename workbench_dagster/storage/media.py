"""Decoding image bytes that came from anywhere: a renderer, an image model, a landing folder.

Pillow opens files lazily, so a truncated upload would only fail in whichever later step
first touched its pixels; decoding everything here makes it fail once, with a clear message.
"""

from __future__ import annotations

import io

from PIL import Image


def decode_image(data: bytes) -> Image.Image:
    """Open image bytes fully, so a truncated or corrupt file fails here and not in a later step."""
    if not data:
        raise ValueError("not a decodable image: no data")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()  # verify() leaves the image unusable, hence the second open
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow signals corruption with many types (OSError, SyntaxError, struct.error, ...)
        raise ValueError(f"not a decodable image: {type(exc).__name__}: {exc}") from exc
    return image
