"""The IPTC digital source type vocabulary (http://cv.iptc.org/newscodes/digitalsourcetype/) as the
Workbench uses it, and the software names that say an image came out of a generator.

Which term each backend writes, and why:

- `diffusers`, `gemini`: `trainedAlgorithmicMedia`, "created using a model derived from sampled
  content": a diffusion or multimodal model trained on images.
- `procedural`: `algorithmicMedia`, "created purely by an algorithm not based on any sampled training
  data". The painter is a Pillow program that draws a scene spec with a seeded random generator; no
  model and no training data take part. `digitalCreation` is media a human made with digital tools
  (no human draws these), and `compositeSynthetic` is a composite of elements of which some are
  synthetic (nothing is composited from other media), so neither fits.
"""

from __future__ import annotations

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"

TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"
ALGORITHMIC_MEDIA = IPTC + "algorithmicMedia"

# Terms that declare the image (wholly or in part) made by an algorithm or a model.
SYNTHETIC_TERMS = frozenset(
    IPTC + term
    for term in (
        "trainedAlgorithmicMedia",
        "algorithmicMedia",
        "compositeSynthetic",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicallyEnhanced",
        "dataDrivenMedia",
        "virtualRecording",
    )
)
# Terms that declare a capture of the real world by a device.
CAPTURE_TERMS = frozenset(
    IPTC + term
    for term in (
        "digitalCapture",
        "computationalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "compositeCapture",
    )
)

BACKEND_SOURCE_TYPES = {
    "procedural": ALGORITHMIC_MEDIA,
    "diffusers": TRAINED_ALGORITHMIC_MEDIA,
    "gemini": TRAINED_ALGORITHMIC_MEDIA,
}

# Lower-case substrings of an EXIF Software / PNG Software value written by image generators.
GENERATOR_SOFTWARE = (
    "stable diffusion",
    "stablediffusion",
    "automatic1111",
    "comfyui",
    "invokeai",
    "novelai",
    "midjourney",
    "dall-e",
    "dall·e",
    "firefly",
    "imagen",
    "gemini",
    "flux",
    "diffusers",
    "ai workbench",
)
# PNG text keys that generator front ends write (A1111 `parameters`, ComfyUI `prompt`/`workflow`).
GENERATOR_PNG_KEYS = ("parameters", "prompt", "workflow", "invokeai_metadata", "sd-metadata")


def term(uri: str | None) -> str | None:
    """The short name of a digital source type (`algorithmicMedia`), for people and tables."""
    if not uri:
        return None
    return uri.rsplit("/", 1)[-1]


def normalise(value: str | None) -> str | None:
    """A source type as the full IPTC URI, whether written as the URI, the C2PA alias
    (http://c2pa.org/digitalsourcetype/...) or the bare term."""
    if not value:
        return None
    value = value.strip()
    short = value.rsplit("/", 1)[-1] if "/" in value else value
    return IPTC + short if short else None


def declares_synthetic(uri: str | None) -> bool:
    return normalise(uri) in SYNTHETIC_TERMS


def declares_capture(uri: str | None) -> bool:
    return normalise(uri) in CAPTURE_TERMS


def generator_software(software: str | None) -> bool:
    return bool(software) and any(name in software.lower() for name in GENERATOR_SOFTWARE)
