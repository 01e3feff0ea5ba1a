"""The one call the image-writing path makes: stamp a generated image with its provenance.

The writer (and with it the signing identity, made on first use) is built at the first image, so a
batch that only reads the render cache, or only ingests a landing folder, never touches a key.

A C2PA manifest is not byte-reproducible (c2pa salts every assertion hash at random), so stamping the
same pixels twice would give two files. Stamps are therefore remembered in the call cache, keyed by
the unstamped bytes, the claim, the identity and PROVENANCE_VERSION: the same pixels and claim get
the very file stored the first time, and an upstream that renders again and gets the same pixels
changes nothing downstream (the update plan compares data hashes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from upath import UPath

from workbench_dagster.captioning.call_cache import cache_key
from workbench_dagster.provenance.writer import PROVENANCE_VERSION, Claim, ProvenanceWriter
from workbench_dagster.storage.image_store import sha256_bytes

__all__ = ["PROVENANCE_VERSION", "Stamper"]


class Stamper:
    def __init__(self, config, cache=None, store=None):
        self.config = config
        self.cache, self.store = cache, store
        self._writer: ProvenanceWriter | None = None

    @property
    def writer(self) -> ProvenanceWriter:
        if self._writer is None:
            self._writer = ProvenanceWriter.at(self.config.provenance_identity_dir, self.config.scenario_data.id)
        return self._writer

    def _model(self) -> str:
        images = self.config.images
        if images.backend == "procedural":
            from workbench_dagster.generation.procedural import RENDERER_VERSION

            return RENDERER_VERSION
        if images.backend == "diffusers" and images.revision:
            return f"{images.model}@{images.revision}"
        return str(images.model)

    def claim(self, row: dict) -> Claim:
        return Claim(
            generator=self.config.images.backend,
            model=self._model(),
            prompt_id=str(row["image_id"]),
            seed=int(row["seed"]),
            scenario=self.config.scenario_data.id,
            batch=str(row["batch"]),
        )

    def _key(self, claim: Claim, data: bytes) -> str:
        return cache_key(
            backend="provenance",
            model_id=PROVENANCE_VERSION,
            prompt_version=hashlib.sha256(self.writer.identity.chain_pem).hexdigest(),
            rendered_prompt=json.dumps(asdict(claim), sort_keys=True),
            image_sha256=sha256_bytes(data),
            decoding={},
            schema_version="stamp-v1",
        )

    def __call__(self, row: dict, data: bytes) -> bytes:
        """The final bytes of one prompt row's image: stamped now, or the stamp stored before."""
        claim = self.claim(row)
        if self.cache is None or self.store is None:
            return self.writer.stamp(data, claim)
        key = self._key(claim, data)
        known = self.cache.get(key)
        if known and UPath(known["uri"]).exists():
            return self.store.get(known["uri"])
        stamped = self.writer.stamp(data, claim)
        _, uri, _ = self.store.put(stamped, "jpg" if stamped.startswith(b"\xff\xd8") else "png")
        self.cache.put(key, {"uri": uri})
        return stamped
