"""The one `workbench.yaml`, validated when the code location loads.

A bad value stops the load with the file, the field and what was expected, so an operator
fixes the YAML instead of reading a traceback from deep inside an asset.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workbench_dagster.errors import WorkbenchConfigError, load_yaml_model
from workbench_dagster.keys import sanitize_key
from workbench_dagster.scenario import Scenario, load_scenario

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "workbench.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatchConfig(Strict):
    id: str
    n_images: int = Field(gt=0, le=100_000)

    @field_validator("id")
    @classmethod
    def _clean_key(cls, value: str) -> str:
        if sanitize_key(value) != value:
            raise ValueError(f"batch id must use only letters, digits, '-', '_' and '.' (try {sanitize_key(value)!r})")
        return value


class ImagesConfig(Strict):
    backend: Literal["procedural"] = "procedural"
    width: int = Field(320, ge=64, le=4096)
    height: int = Field(240, ge=64, le=4096)


class CommentsConfig(Strict):
    backend: Literal["template"] = "template"
    per_image: int = Field(3, ge=0, le=50)


class ModelConfig(Strict):
    id: str
    backend: Literal["baseline"]
    needs_gpu: bool = False
    params: dict = {}

    @field_validator("id")
    @classmethod
    def _clean_key(cls, value: str) -> str:
        if sanitize_key(value) != value:
            raise ValueError(f"model id must use only letters, digits, '-', '_' and '.' (try {sanitize_key(value)!r})")
        return value


class BaselineConfig(Strict):
    train_batch: str
    image_size: int = Field(64, ge=16, le=512)
    threshold: float = Field(0.5, gt=0, lt=1)


class EmbedderConfig(Strict):
    model: str = "packaged:all-MiniLM-L6-v2"
    batch_size: int = Field(64, ge=1)


class GraphConfig(Strict):
    k: int = Field(10, ge=1, le=200)
    min_similarity: float = Field(0.2, ge=-1, le=1)
    caption_weight: float = Field(0.6, ge=0)
    label_weight: float = Field(0.4, ge=0)
    resolution: float = Field(1.0, gt=0)
    seed: int = Field(7, ge=1)  # graspologic rejects 0


class GpuConfig(Strict):
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"


class WorkbenchConfig(Strict):
    scenario: Path
    seed: int = 20261122
    data_dir: Path = Path("data")
    image_store: str | None = None
    warehouse: Path = Path("data/warehouse.duckdb")
    landing_dir: Path = Path("data/landing")
    batches: list[BatchConfig] = Field(min_length=1)
    images: ImagesConfig = ImagesConfig()
    comments: CommentsConfig = CommentsConfig()
    baseline: BaselineConfig
    models: list[ModelConfig] = Field(min_length=1)
    embedder: EmbedderConfig = EmbedderConfig()
    graph: GraphConfig = GraphConfig()
    gpu: GpuConfig = GpuConfig()
    source_path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> "WorkbenchConfig":
        batch_ids = [b.id for b in self.batches]
        if len(set(batch_ids)) != len(batch_ids):
            raise ValueError("batches: batch ids must be unique")
        model_ids = [m.id for m in self.models]
        if len(set(model_ids)) != len(model_ids):
            raise ValueError("models: model ids must be unique")
        if self.baseline.train_batch not in batch_ids:
            raise ValueError(f"baseline.train_batch: {self.baseline.train_batch!r} is not one of the batches {batch_ids}")
        return self

    def resolve(self, base: Path) -> "WorkbenchConfig":
        """Relative paths in the YAML are relative to the YAML file, wherever the process runs."""
        updates = {}
        for name in ("scenario", "data_dir", "warehouse", "landing_dir"):
            value = getattr(self, name)
            if not value.is_absolute():
                updates[name] = (base / value).resolve()
        return self.model_copy(update=updates)

    @property
    def image_store_uri(self) -> str:
        return self.image_store or str(self.data_dir / "images")

    @property
    def tables_dir(self) -> Path:
        return self.data_dir / "tables"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def model_ids(self) -> list[str]:
        return [m.id for m in self.models]

    @property
    def batch_ids(self) -> list[str]:
        return [b.id for b in self.batches]

    def batch(self, batch_id: str) -> BatchConfig | None:
        return next((b for b in self.batches if b.id == batch_id), None)

    def model(self, model_id: str) -> ModelConfig:
        for model in self.models:
            if model.id == model_id:
                return model
        raise WorkbenchConfigError(f"model {model_id!r} is not configured; known: {self.model_ids}")

    @cached_property
    def scenario_data(self) -> Scenario:
        return load_scenario(self.scenario)


def config_path_from_env() -> Path:
    return Path(os.environ.get("WORKBENCH_CONFIG", DEFAULT_CONFIG))


def load_config(path: str | Path | None = None) -> WorkbenchConfig:
    path = Path(path) if path else config_path_from_env()
    config = load_yaml_model(path, WorkbenchConfig).resolve(path.resolve().parent)
    config = config.model_copy(update={"source_path": path.resolve()})
    config.scenario_data  # a broken scenario file stops the code location load too
    return config
