"""What every generated image carries inside the file: the IPTC digital source type in XMP and a
signed C2PA manifest naming the generator, the model, the prompt id, the seed and the scenario.

Order matters: the XMP goes in first, then the manifest is signed over those bytes, so the
manifest's hash covers the XMP too, and the store hashes what comes out (the final bytes). A
format other than PNG or JPEG is converted to PNG first; the backends here all write PNG.

`PROVENANCE_VERSION` is part of what the render cache remembers per image: bump it when what is
written changes, and cached images are re-stamped from their stored pixels (not re-generated; an
API image is never paid for twice).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from workbench_dagster.provenance import c2pa_io, xmp
from workbench_dagster.provenance.identity import Identity, load_or_create
from workbench_dagster.provenance.vocabulary import BACKEND_SOURCE_TYPES, term

PROVENANCE_VERSION = "prov-v1"
CREATOR = "AI Workbench"


@dataclass(frozen=True)
class Claim:
    """What one image says about its making."""

    generator: str  # the image backend: procedural, diffusers, gemini
    model: str  # the renderer version or the image model id
    prompt_id: str
    seed: int
    scenario: str
    batch: str

    @property
    def source_type(self) -> str:
        return BACKEND_SOURCE_TYPES[self.generator]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-workbench")
    except PackageNotFoundError:
        return "0"


def manifest(claim: Claim, mime: str) -> dict:
    ext = "png" if mime == "image/png" else "jpg"
    return {
        "claim_generator_info": [{"name": CREATOR, "version": _version()}],
        "title": f"{claim.prompt_id}.{ext}",
        "format": mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": claim.source_type,
                            "softwareAgent": {"name": f"{CREATOR} {claim.generator}", "version": claim.model},
                        }
                    ]
                },
            },
            {
                "label": c2pa_io.ASSERTION,
                "data": {
                    "generator": claim.generator,
                    "model": claim.model,
                    "prompt_id": claim.prompt_id,
                    "seed": int(claim.seed),
                    "scenario": claim.scenario,
                    "batch": claim.batch,
                    "provenance_version": PROVENANCE_VERSION,
                },
            },
        ],
    }


def _png_or_jpeg(data: bytes) -> tuple[bytes, str]:
    if data.startswith(xmp.PNG_SIGNATURE):
        return data, "image/png"
    if data.startswith(b"\xff\xd8"):
        return data, "image/jpeg"
    from PIL import Image

    buffer = io.BytesIO()
    try:
        Image.open(io.BytesIO(data)).save(buffer, format="PNG")
    except Exception as exc:  # Pillow signals a bad file with many types
        raise ValueError(f"not an image to stamp: {type(exc).__name__}: {exc}") from exc
    return buffer.getvalue(), "image/png"


class ProvenanceWriter:
    """Stamps images with one identity; the c2pa signer and context are made once and reused."""

    def __init__(self, identity: Identity):
        self.identity = identity
        self._context = c2pa_io.signing_context()
        self._signer = c2pa_io.signer(identity.chain_pem, identity.key_pem)

    @classmethod
    def at(cls, identity_dir: str | Path, label: str = "local") -> ProvenanceWriter:
        return cls(load_or_create(identity_dir, label))

    def stamp(self, data: bytes, claim: Claim) -> bytes:
        """The final bytes: any earlier XMP or manifest removed, the XMP embedded, the manifest signed."""
        data, mime = _png_or_jpeg(xmp.strip(data))
        description = (
            f"Synthetic image ({term(claim.source_type)}) made by the {CREATOR} {claim.generator} backend "
            f"({claim.model}) for prompt {claim.prompt_id}, seed {claim.seed}, scenario {claim.scenario}."
        )
        packet = xmp.packet(claim.source_type, f"{CREATOR} ({claim.generator} {claim.model})", description)
        try:
            return c2pa_io.sign(self._context, self._signer, manifest(claim, mime), mime, xmp.embed(data, packet))
        except Exception as exc:  # c2pa raises its own error types; say which image
            raise RuntimeError(f"{claim.prompt_id}: C2PA signing failed: {type(exc).__name__}: {exc}") from exc
