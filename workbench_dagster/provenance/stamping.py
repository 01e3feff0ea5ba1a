"""The one call the image-writing path makes: stamp a generated image with its provenance.

The writer (and with it the signing identity, made on first use) is built at the first image, so a
batch that only reads the render cache, or only ingests a landing folder, never touches a key.
"""

from __future__ import annotations

from workbench_dagster.provenance.writer import PROVENANCE_VERSION, Claim, ProvenanceWriter

__all__ = ["PROVENANCE_VERSION", "Stamper"]


class Stamper:
    def __init__(self, config):
        self.config = config
        self._writer: ProvenanceWriter | None = None

    def _model(self) -> str:
        images = self.config.images
        if images.backend == "procedural":
            from workbench_dagster.generation.procedural import RENDERER_VERSION

            return RENDERER_VERSION
        if images.backend == "diffusers" and images.revision:
            return f"{images.model}@{images.revision}"
        return str(images.model)

    def __call__(self, row: dict, data: bytes) -> bytes:
        """The final bytes of one prompt row's image."""
        if self._writer is None:
            self._writer = ProvenanceWriter.at(self.config.provenance_identity_dir, self.config.scenario_data.id)
        claim = Claim(
            generator=self.config.images.backend,
            model=self._model(),
            prompt_id=str(row["image_id"]),
            seed=int(row["seed"]),
            scenario=self.config.scenario_data.id,
            batch=str(row["batch"]),
        )
        return self._writer.stamp(data, claim)
