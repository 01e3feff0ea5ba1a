"""The one `workbench.yaml`, validated when the code location loads.

A bad value stops the load with the file, the field and what was expected, so an operator
fixes the YAML instead of reading a traceback from deep inside an asset.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)
from upath import UPath

from workbench_dagster.backends import registry
from workbench_dagster.backends.params import check_params
from workbench_dagster.errors import WorkbenchConfigError, load_yaml_model, located_error
from workbench_dagster.keys import sanitize_key
from workbench_dagster.networks.variant_registry import VARIANTS
from workbench_dagster.redaction import watch_config_keys
from workbench_dagster.scenario.config_paths import check_config_paths
from workbench_dagster.scenario.scenario_file import Scenario, load_scenario

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "workbench.yaml"


def _env_var_name(value: str) -> str:
    """A key pasted where its variable's name belongs would end up in error messages and logs."""
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
        raise ValueError(
            "expected the NAME of an environment variable (capitals, digits and '_', such as "
            "GOOGLE_API_KEY), not the key itself"
        )
    return value


EnvVarName = Annotated[str, AfterValidator(_env_var_name)]


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def is_remote(path: str | os.PathLike) -> bool:
    """An object-store location (`s3://bucket/prefix`, any fsspec protocol but a local file)."""
    if isinstance(path, UPath):
        return getattr(path, "protocol", "") not in ("", "file", "local")
    text = str(path)
    return "://" in text and not text.startswith("file://")


def _storage_path(value: object) -> Path | UPath:
    """A local folder stays a `pathlib.Path` (as it always was, so fingerprints of local configs do not
    change); `s3://bucket/prefix` becomes a UPath, which every store reads and writes through fsspec.
    The endpoint of an S3-compatible store is the environment's AWS_ENDPOINT_URL (deploy/README.md)."""
    if isinstance(value, UPath) and is_remote(value):
        return value
    if isinstance(value, str | os.PathLike) and is_remote(value):
        return UPath(str(value))
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ValueError(f"expected a folder or an s3:// URI, got {value!r}")


# data_dir, warehouse, landing_dir: a local path or an object-store URI, serialised as its string
StoragePath = Annotated[Path | UPath, PlainValidator(_storage_path), PlainSerializer(str, return_type=str)]
# backend names come from the registry (workbench_dagster/backends/registry.py), which imports no SDK
CaptionBackendName = Annotated[str, AfterValidator(lambda name: registry.check_name("caption", name))]
TextBackendName = Annotated[str, AfterValidator(lambda name: registry.check_name("text", name))]
ImageBackendName = Annotated[str, AfterValidator(lambda name: registry.check_name("image", name))]


def key_env_for(backend: str, api_key_env: str | None) -> str | None:
    """The variable that holds the key: the configured name, else the backend's registered default."""
    return api_key_env or registry.BACKENDS[backend].key_env


def require_model(where: str, backend: str, model: str | None) -> None:
    hint = registry.BACKENDS[backend].model_hint
    if hint is not None and not model:
        raise ValueError(f"{where}backend {backend!r} needs `model`, {hint}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyFromEnv:
    """For configs of API backends: the key itself is never in the YAML, only its variable's name."""

    @property
    def key_env(self) -> str | None:
        return key_env_for(self.backend, self.api_key_env)


class BatchConfig(Strict):
    id: str
    n_images: int = Field(gt=0, le=100_000)
    # kind: counterfactual redraws specs of the held-out batch `source` with one attribute changed
    # (generation/counterfactual.py); n_images counts its originals and counterfactuals together
    kind: Literal["prompts", "counterfactual"] = "prompts"
    source: str | None = None
    attributes: list[str] | None = None  # default: every attribute generation/counterfactual.py registers
    min_pairs: int | None = Field(None, ge=1)  # default 5: below it an attribute reports its count, no rate

    @model_validator(mode="after")
    def _kind_fields(self) -> BatchConfig:
        """A counterfactual batch names its source; a prompt batch takes none of those fields, so a
        forgotten `kind:` fails the load instead of expanding a plain batch."""
        from workbench_dagster.generation.counterfactual import attribute_problems

        problems: list[tuple[tuple, str]] = []
        if self.kind == "counterfactual":
            if not self.source:
                problems.append((("source",), "a counterfactual batch needs the held-out batch it redraws"))
            if self.n_images < 2:
                problems.append((("n_images",), "a counterfactual batch needs at least 2 images (one pair)"))
            problems += attribute_problems(self.attributes)
        else:
            for name in ("source", "attributes", "min_pairs"):
                if getattr(self, name) is not None:
                    problems.append(((name,), "only a batch of `kind: counterfactual` takes this field"))
        if problems:
            raise located_error("BatchConfig", problems)
        return self

    @field_validator("id")
    @classmethod
    def _clean_key(cls, value: str) -> str:
        if sanitize_key(value) != value:
            raise ValueError(
                f"batch id must use only letters, digits, '-', '_' and '.' (try {sanitize_key(value)!r})"
            )
        return value


class ImagesConfig(Strict, KeyFromEnv):
    backend: ImageBackendName = "procedural"
    width: int = Field(320, ge=64, le=4096)
    height: int = Field(240, ge=64, le=4096)
    # diffusers only (pip install -e '.[diffusers]'): hub id or local folder of a text-to-image pipeline
    model: str | None = None  # e.g. black-forest-labs/FLUX.1-schnell, stabilityai/sdxl-turbo
    revision: str | None = None
    steps: int = Field(4, ge=1, le=200)
    guidance_scale: float = Field(0.0, ge=0)  # 0 for the distilled FLUX-schnell / SDXL-Turbo
    # gemini only: `model` is a Gemini image model (e.g. gemini-2.5-flash-image); the key comes from the
    # environment variable named by api_key_env (default: the backend's key_env in backends/registry.py)
    base_url: HttpUrl | None = None
    api_key_env: EnvVarName | None = None
    timeout_s: float = Field(120.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _model_named(self) -> ImagesConfig:
        require_model("images: ", self.backend, self.model)
        return self


class TextModelConfig(Strict, KeyFromEnv):
    """An API model that writes text (comments, community summaries) rather than captioning images.

    `template` is the offline default and needs none of the other fields.
    """

    backend: TextBackendName = "template"
    # API backends only: provider model name, endpoint and the NAME of the env var with the key
    model: str | None = None
    base_url: HttpUrl | None = None
    api_key_env: EnvVarName | None = None  # default: the backend's key_env in backends/registry.py
    concurrency: int = Field(4, ge=1, le=256)
    timeout_s: float = Field(60.0, gt=0, le=3600)
    temperature: float | None = Field(None, ge=0)  # each use sets its own default
    max_output_tokens: int = Field(1024, ge=1, le=32_768)

    @model_validator(mode="after")
    def _model_named(self) -> TextModelConfig:
        require_model("", self.backend, self.model)
        return self


class CommentsConfig(TextModelConfig):
    per_image: int = Field(3, ge=0, le=50)
    temperature: float | None = Field(0.9, ge=0)  # comments should vary


class SummariesConfig(TextModelConfig):
    """Who writes each community's narrative summary: the template, or a text model.

    Only communities of at least `min_size` images on levels up to `max_level` (0 is the flat
    Leiden partition, 1.. the hierarchy) go to the model, which bounds the number of calls;
    the rest keep the template summary.
    """

    temperature: float | None = Field(0.2, ge=0)  # a summary should be faithful, not creative
    max_output_tokens: int = Field(1024, ge=1, le=32_768)  # room for "thinking" models that count their reasoning
    min_size: int = Field(3, ge=1)
    max_level: int = Field(1, ge=0)
    language: str = "English"


DEFAULT_VARIANT = "default"  # the model's own prompt (or threshold): every model has it


class PromptVariant(Strict):
    """One rewording of the labelling instruction, for prompt sensitivity (evaluation/prompt_sensitivity.py).

    `text` replaces the caption prompt's instruction for a model that reads a prompt; `{taxonomy}`
    marks where the label ids go (else they follow the text), and the JSON answer format always
    follows. The baseline reads no prompt, so a variant of it cannot be a rewording: it sets
    `threshold`, the decision threshold, which is the one thing about "how it is asked" a classifier
    has. The table says which was varied, so the two are never read as the same thing.
    """

    id: str
    text: str | None = None
    language: str | None = None  # the language of `text`, e.g. es: recorded with the variant's rows
    threshold: float | None = Field(None, gt=0, lt=1)

    @field_validator("id")
    @classmethod
    def _clean_id(cls, value: str) -> str:
        if sanitize_key(value) != value or value == DEFAULT_VARIANT:
            raise ValueError(
                f"a prompt variant id uses only letters, digits, '-', '_' and '.' and is not {DEFAULT_VARIANT!r} "
                f"(the model's own prompt), got {value!r}"
            )
        return value


class ModelConfig(Strict, KeyFromEnv):
    id: str
    backend: CaptionBackendName
    needs_gpu: bool = False
    params: dict = {}
    # Shared by the model backends that call an M-LLM: the provider's model name, hub id or local path.
    model: str | None = None
    temperature: float | None = Field(None, ge=0)  # None or 0: greedy decoding
    max_output_tokens: int = Field(256, ge=1, le=32_768)
    # transformers only
    revision: str | None = None
    load_in_4bit: bool = False
    batch_size: int = Field(4, ge=1, le=256)
    # gemini / openai only (API backends). The key itself is never in the YAML: `api_key_env`
    # names the environment variable (or .env entry) that holds it.
    base_url: HttpUrl | None = (
        None  # openai: e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama)
    )
    api_key_env: EnvVarName | None = None  # default: the backend's key_env in backends/registry.py
    concurrency: int = Field(4, ge=1, le=256)  # parallel requests per partition
    timeout_s: float = Field(60.0, gt=0, le=3600)  # per request
    max_retries: int = Field(4, ge=0, le=20)  # retries after the first attempt (429, 5xx, timeouts)
    retry_budget_s: float = Field(120.0, gt=0)  # total time an image may spend retrying
    price_per_million_input: float = Field(0.0, ge=0)  # USD per 1M input tokens, for cost_usd
    price_per_million_output: float = Field(0.0, ge=0)  # USD per 1M output tokens
    response_mode: Literal["json_schema", "json_object", "text"] | None = None  # openai: skip the probing
    # Answer bounds (workbench_dagster/captioning/parsing.py AnswerBounds): an answer beyond them is stored
    # truncated and `invalid`, never cached
    max_caption_chars: int = Field(2000, ge=1, le=1_000_000)
    max_labels: int = Field(50, ge=1, le=10_000)
    max_raw_bytes: int = Field(65_536, ge=1024, le=64 * 1024 * 1024)
    # rewordings of the labelling instruction (baseline: thresholds), each captioned like the model's own prompt
    prompt_variants: list[PromptVariant] = []

    @model_validator(mode="after")
    def _model_named(self) -> ModelConfig:
        require_model(f"models[{self.id}]: ", self.backend, self.model)
        return self

    @model_validator(mode="after")
    def _variants_fit_backend(self) -> ModelConfig:
        """A baseline variant sets a threshold, any other a text; ids are unique."""
        ids = [v.id for v in self.prompt_variants]
        if len(set(ids)) != len(ids):
            raise ValueError(f"models[{self.id}].prompt_variants: ids must be unique, got {ids}")
        reads_prompt = self.backend != "baseline"
        for k, v in enumerate(self.prompt_variants):
            where = f"models[{self.id}].prompt_variants[{k}] ({v.id})"
            if reads_prompt and (not (v.text or "").strip() or v.threshold is not None):
                raise ValueError(f"{where}: backend {self.backend!r} reads a prompt: give `text`, not `threshold`")
            if not reads_prompt and (v.threshold is None or v.text is not None):
                raise ValueError(
                    f"{where}: the baseline reads no prompt, so its variant sets `threshold` (not `text`)"
                )
        return self

    @field_validator("params")
    @classmethod
    def _params_accepted(cls, value: dict, info: ValidationInfo) -> dict:
        """Checked against what the backend reads (its `BackendSpec.params`), so a typo fails the load."""
        backend = info.data.get("backend")  # absent when the backend name itself was wrong
        if backend is None:
            return value
        return check_params(backend, registry.BACKENDS[backend].params, value, set(cls.model_fields))

    @field_validator("id")
    @classmethod
    def _clean_key(cls, value: str) -> str:
        if sanitize_key(value) != value:
            raise ValueError(
                f"model id must use only letters, digits, '-', '_' and '.' (try {sanitize_key(value)!r})"
            )
        return value


class BaselineConfig(Strict):
    train_batch: str
    image_size: int = Field(64, ge=16, le=512)
    threshold: float = Field(0.5, gt=0, lt=1)


class EmbedderConfig(Strict):
    model: str = "packaged:all-MiniLM-L6-v2"
    batch_size: int = Field(64, ge=1)


class LayerWeights(Strict):
    """Weights of the similarity layers averaged into a variant's edges (a layer a variant lacks is left out)."""

    visual: float = Field(0.3, ge=0)
    label: float = Field(0.4, ge=0)
    caption: float = Field(0.6, ge=0)
    comment: float = Field(0.3, ge=0)


GraphVariant = Literal[VARIANTS]  # the names registered in networks/variant_registry.py


class GraphConfig(Strict):
    k: int = Field(10, ge=1, le=200)
    min_similarity: float = Field(0.2, ge=-1, le=1)
    layer_weights: LayerWeights = LayerWeights()
    variants: list[GraphVariant] = Field(default=list(VARIANTS), min_length=1)
    approximate_above: int = Field(20_000, ge=2)  # above this many images, kNN uses an approximate (faiss) index
    max_cluster_size: int = Field(32, ge=2)  # hierarchical Leiden splits communities larger than this
    resolution: float = Field(1.0, gt=0)
    seed: int = Field(7, ge=1)  # graspologic rejects 0
    summaries: SummariesConfig = SummariesConfig()
    # Gephi files per variant; writing them is about half the network stage at 20k images, [] skips it
    exports: list[Literal["gexf", "graphml"]] = ["gexf", "graphml"]
    # Flagged captions (captioning/answer_flags.py: instruction-like, wrong language; batch_flags.py: far from
    # the image's other captions) give no community keywords and stay out of summary prompts
    keywords_from_flagged: bool = False
    # far_from_others: the other models' captions agree with each other this much more than with this one
    far_from_others_margin: float = Field(0.25, gt=0, le=2)

    @field_validator("variants", "exports")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"entries must be distinct, got {value}")
        return value

    @model_validator(mode="after")
    def _label_layer_weighs(self) -> GraphConfig:
        if self.layer_weights.label <= 0:
            raise ValueError("layer_weights.label must be > 0: every variant is built on label overlap")
        return self


class AuditConfig(Strict):
    """Where and why a model sees differently (evaluation/slices.py, prompt_sensitivity.py).

    A slice of fewer than `min_slice_images` images reports its count and no rate; the largest gap of
    each attribute is tested by `n_permutations` permutations, Holm-corrected at `alpha` across the
    attributes tested. `attributes` narrows the slices to those spec keys (default: every one the
    specs carry)."""

    min_slice_images: int = Field(20, ge=2)
    alpha: float = Field(0.05, gt=0, lt=1)
    n_permutations: int = Field(1000, ge=99, le=100_000)
    n_boot: int = Field(1000, ge=100, le=100_000)
    attributes: list[str] | None = None


class GpuConfig(Strict):
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"


class DatasetConfig(Strict):
    """Quality, balance and the shared export (workbench_dagster/dataset/)."""

    # two images are near-duplicates when their 64-bit perceptual hashes differ in at most this many bits:
    # re-encodes and small edits stay within 2; the painter's flyers with one heading and slogan lie 2-4 apart
    near_duplicate_bits: int = Field(2, ge=0, le=32)
    # a batch's attribute is off balance when its Jensen-Shannon distance from the scenario's target
    # exceeds balance_max_js AND its chi-square p-value is below balance_alpha (not sampling noise)
    balance_max_js: float = Field(0.2, gt=0, le=1)
    balance_alpha: float = Field(0.01, gt=0, lt=1)
    license: str = Field("CC-BY-4.0", min_length=1)  # SPDX id of the exported dataset's license


class DetectorConfig(Strict):
    """The ai_image_detector (workbench_dagster/provenance/detector.py): trained only when both kinds exist."""

    crop: int = Field(48, ge=16, le=512)  # side of the native-resolution crops it sees (no resizing)
    epochs: int = Field(10, ge=1, le=500)
    min_per_class: int = Field(8, ge=2)  # fewer labelled images of either kind: not trained, said so
    heldout_fraction: float = Field(0.3, gt=0, lt=1)


class ProvenanceConfig(Strict):
    # the C2PA signing identity; made there on first use. Default <data_dir>/provenance/identity
    identity_dir: Path | None = None
    detector: DetectorConfig = DetectorConfig()


class WorkbenchConfig(Strict):
    scenario: Path
    seed: int = 20261122
    data_dir: StoragePath = Path("data")  # or s3://bucket/prefix: every artefact on the object store
    image_store: str | None = None
    # Default under data_dir, so a config that changes only data_dir writes nothing of another's
    warehouse: StoragePath | None = None  # <data_dir>/warehouse.duckdb
    landing_dir: StoragePath | None = None  # <data_dir>/landing
    batches: list[BatchConfig] = Field(min_length=1)
    images: ImagesConfig = ImagesConfig()
    comments: CommentsConfig = CommentsConfig()
    baseline: BaselineConfig
    models: list[ModelConfig] = Field(min_length=1)
    embedder: EmbedderConfig = EmbedderConfig()
    graph: GraphConfig = GraphConfig()
    gpu: GpuConfig = GpuConfig()
    dataset: DatasetConfig = DatasetConfig()
    provenance: ProvenanceConfig = ProvenanceConfig()
    audit: AuditConfig = AuditConfig()
    source_path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _paths_under_data_dir(self) -> WorkbenchConfig:
        if self.warehouse is None:
            self.warehouse = self.data_dir / "warehouse.duckdb"
        if self.landing_dir is None:
            self.landing_dir = self.data_dir / "landing"
        return self

    @model_validator(mode="after")
    def _consistent(self) -> WorkbenchConfig:
        batch_ids = [b.id for b in self.batches]
        if len(set(batch_ids)) != len(batch_ids):
            raise ValueError("batches: batch ids must be unique")
        model_ids = [m.id for m in self.models]
        if len(set(model_ids)) != len(model_ids):
            raise ValueError("models: model ids must be unique")
        if self.baseline.train_batch not in batch_ids:
            raise ValueError(
                f"baseline.train_batch: {self.baseline.train_batch!r} is not one of the batches {batch_ids}"
            )
        return self

    @model_validator(mode="after")
    def _counterfactual_sources(self) -> WorkbenchConfig:
        """A counterfactual batch redraws held-out prompts: never the training batch, never another
        counterfactual batch, and it is never trained on itself."""
        kinds = {b.id: b.kind for b in self.batches}
        problems = []
        for i, batch in enumerate(self.batches):
            if batch.kind != "counterfactual":
                continue
            if batch.id == self.baseline.train_batch:
                problems.append((("baseline", "train_batch"), f"{batch.id!r} is a counterfactual batch"))
            if batch.source not in kinds:
                problems.append(((i, "source"), f"{batch.source!r} is not one of the batches {list(kinds)}"))
            elif batch.source == self.baseline.train_batch:
                problems.append(((i, "source"), "the training batch is not held out; name a held-out batch"))
            elif kinds[batch.source] != "prompts":
                problems.append(((i, "source"), f"{batch.source!r} is itself a counterfactual batch"))
        if problems:
            raise located_error(
                "WorkbenchConfig",
                [((("batches", *loc) if isinstance(loc[0], int) else loc), m) for loc, m in problems],
            )
        return self

    def resolve(self, base: Path) -> WorkbenchConfig:
        """Relative paths in the YAML are relative to the YAML file, wherever the process runs."""
        updates = {}
        for name in ("scenario", "data_dir", "warehouse", "landing_dir"):
            value = getattr(self, name)
            if not value.is_absolute():
                updates[name] = (base / value).resolve()
        store = self.image_store
        if store and "://" not in store and not Path(store).expanduser().is_absolute():
            updates["image_store"] = str((base / store).resolve())
        return self.model_copy(update=updates)

    @property
    def image_store_uri(self) -> str:
        return self.image_store or str(self.data_dir / "images")

    @property
    def is_remote(self) -> bool:
        """data_dir on an object store: the Dagster instance is then the deployment's (deploy/dagster.yaml)."""
        return is_remote(self.data_dir)

    @property
    def dagster_home(self) -> Path:
        """This config's Dagster instance (runs, partitions, pool slots): two configs never share one.

        On an object store the instance cannot live under data_dir (it is a database, not files):
        DAGSTER_HOME names the deployment's folder, whose dagster.yaml puts it on PostgreSQL."""
        if not self.is_remote:
            return self.data_dir / "dagster"
        home = os.environ.get("DAGSTER_HOME")
        if not home:
            raise WorkbenchConfigError(
                f"{self.source_path}: data_dir {self.data_dir} is on an object store, so the Dagster "
                "instance is the deployment's: set DAGSTER_HOME to a folder holding deploy/dagster.yaml"
            )
        return Path(home)

    @property
    def provenance_identity_dir(self) -> Path:
        """The signing identity's folder; a relative provenance.identity_dir is read from the config's folder."""
        folder = self.provenance.identity_dir
        if folder is None:
            return self.data_dir / "provenance" / "identity"
        if not folder.is_absolute() and self.source_path is not None:
            return (self.source_path.parent / folder).resolve()
        return folder

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

    def is_training_batch(self, batch_id: str) -> bool:
        """Scores on the batch the baseline learned from are flagged, so no leaderboard counts them."""
        return batch_id == self.baseline.train_batch

    def is_counterfactual_batch(self, batch_id: str) -> bool:
        """Counterfactual images are probes: never training data, corrections or leaderboard images."""
        batch = self.batch(batch_id)
        return batch is not None and batch.kind == "counterfactual"

    @cached_property
    def scenario_data(self) -> Scenario:
        return load_scenario(self.scenario)


def config_path_from_env() -> Path:
    return Path(os.environ.get("WORKBENCH_CONFIG", DEFAULT_CONFIG))


def load_config(path: str | Path | None = None) -> WorkbenchConfig:
    path = Path(path) if path else config_path_from_env()
    config = load_yaml_model(path, WorkbenchConfig).resolve(path.resolve().parent)
    config = config.model_copy(update={"source_path": path.resolve()})
    check_config_paths(config)
    try:
        _ = config.scenario_data  # a broken scenario file stops the code location load too
    except WorkbenchConfigError as exc:
        raise WorkbenchConfigError(
            f"{config.source_path}: the file that `scenario` names does not load:\n{exc}"
        ) from None
    watch_config_keys(config)  # every key it names is masked in what the pipeline stores or logs
    return config
