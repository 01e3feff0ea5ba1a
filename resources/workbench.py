"""The validated `workbench.yaml`, the image store and the call cache, as one resource."""

from functools import lru_cache
from pathlib import Path

import dagster as dg

from workbench_dagster.captioning.call_cache import CallCache, VectorCache
from workbench_dagster.scenario.config import WorkbenchConfig, load_config
from workbench_dagster.storage.image_store import ImageStore


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> WorkbenchConfig:
    return load_config(path)


class WorkbenchResource(dg.ConfigurableResource):
    """Where the config lives; every asset reads the same validated file."""

    config_path: str

    @property
    def config(self) -> WorkbenchConfig:
        path = Path(self.config_path)
        return _load(str(path), path.stat().st_mtime if path.exists() else 0.0)

    @property
    def image_store(self) -> ImageStore:
        return ImageStore(self.config.image_store_uri)

    @property
    def call_cache(self) -> CallCache:
        return CallCache(self.config.cache_dir / "calls")

    @property
    def vector_cache(self) -> VectorCache:
        return VectorCache(self.config.cache_dir / "vectors")

    @property
    def text_cache(self) -> CallCache:
        """What is derived from a text alone (preprocessing, a caption's language), by recipe and text."""
        return CallCache(self.config.cache_dir / "text")
