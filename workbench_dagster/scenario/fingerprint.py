"""What an asset partition is made from outside the graph: the config, the scenario file, and, where
an asset says so, a landing folder or the review inbox.

A partition's fingerprint covers the config without its batch and model lists, plus the spec of
its own batch and model: adding a batch or a model leaves every other partition's fingerprint
alone, while any other config edit (a threshold, a prompt, the image size) reaches every asset,
because no asset declares which settings it reads. Recorded on each materialization by the IO
manager and compared by the update plan (workbench_dagster/freshness.py).
"""

from __future__ import annotations

import hashlib
from functools import cached_property

from workbench_dagster.freshness import digest
from workbench_dagster.scenario.config import WorkbenchConfig

LANDING = "landing"  # the asset reads its batch's landing folder
REVIEWS_INBOX = "reviews_inbox"  # the asset reads data/reviews/inbox/
SOURCES = (LANDING, REVIEWS_INBOX)
SOURCES_METADATA = "workbench/sources"  # an asset's metadata: what it reads outside the graph


class Fingerprints:
    """One config's fingerprints; the landing folders and the inbox are hashed once per instance."""

    def __init__(self, config: WorkbenchConfig):
        self.config = config

    @cached_property
    def _common(self) -> str:
        settings = self.config.model_dump(mode="json", exclude={"batches", "models", "source_path"})
        scenario = hashlib.sha256(self.config.scenario.read_bytes()).hexdigest()
        return digest([settings, scenario])

    @cached_property
    def _landing(self) -> dict[str, str]:
        from workbench_dagster.storage.landing import scan_landing

        return {b.batch: b.content_hash for b in scan_landing(self.config.landing_dir)}

    @cached_property
    def _inbox(self) -> str:
        from workbench_dagster.reviews.inbox import inbox_fingerprint

        return inbox_fingerprint(self.config.data_dir / "reviews" / "inbox")

    def of(self, batch: str | None, model: str | None, sources: tuple[str, ...] = ()) -> str:
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown sources {sorted(unknown)}: an asset may read {list(SOURCES)}")
        batch_spec = next((b.model_dump(mode="json") for b in self.config.batches if b.id == batch), None)
        model_spec = next((m.model_dump(mode="json") for m in self.config.models if m.id == model), None)
        outside = []
        if LANDING in sources and batch is not None:
            outside.append(self._landing.get(batch))
        if REVIEWS_INBOX in sources:
            outside.append(self._inbox)
        return digest([self._common, batch, batch_spec, model, model_spec, outside])
