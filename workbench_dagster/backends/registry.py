"""The one list of backends: adding one means a module in this package and one entry here.

Config validation (allowed names per kind, the "needs a model" rule, the default key
variable) reads the specs below without importing any provider SDK; a backend's module is
imported only when a partition builds it. A module serves a kind by offering a function of
that kind's name, called with keywords only:

- ``caption_backend(model_config, api_key=...)`` (API) or ``(model_config, device=..., dtype=...)`` (local);
- ``text_backend(text_config, api_key=..., model_id=...)`` for comments and community summaries;
- ``image_backend(images_config, api_key=...)`` (API) or ``(images_config, device=..., dtype=...)`` (local).

API backends (those with a default key variable) also get the contract test in
tests/backends/test_api_contract.py, against their fake server tests/fakes/<name>_server.py.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from workbench_dagster.backends.base import BackendUnavailable
from workbench_dagster.backends.params import BaselineParams, NoParams
from workbench_dagster.redaction import watch_key_envs

KINDS = ("caption", "text", "image")


@dataclass(frozen=True)
class BackendSpec:
    name: str
    kinds: tuple[str, ...]
    module: str | None  # under workbench_dagster/backends/; None: built in the graph, not here
    model_hint: str | None = None  # set: `model` is required, and this says what to put there
    key_env: str | None = None  # set: an API backend, its key read from this variable by default
    key_hint: str = ""  # where a key comes from, for the missing-key message
    local: bool = False  # runs on this machine's torch device: the factory gets device and dtype
    params: type[NoParams] = NoParams  # what `models[].params` accepts (backends/params.py), checked at load

    @property
    def needs_model(self) -> bool:
        return self.model_hint is not None

    @property
    def is_api(self) -> bool:
        return self.key_env is not None

    @property
    def model_kind(self) -> str | None:
        """What a caption row's `model_kind` says of this backend, so an analyst can tell the offline
        baselines from API models and local VLMs; None for backends that do not caption."""
        if "caption" not in self.kinds:
            return None
        return "baseline" if self.module is None else "api" if self.is_api else "local_vlm"


_SPECS = (
    # built in the graph: the trained baseline, the offline comment/summary templates, the painter
    BackendSpec("baseline", ("caption",), None, params=BaselineParams),
    BackendSpec("template", ("text",), None),
    BackendSpec("procedural", ("image",), None),
    BackendSpec(
        "transformers",
        ("caption",),
        "transformers_vlm",
        model_hint="a hub id such as Qwen/Qwen2-VL-2B-Instruct, or a local folder",
        local=True,
    ),
    BackendSpec(
        "diffusers",
        ("image",),
        "diffusers_images",
        model_hint="e.g. black-forest-labs/FLUX.1-schnell, stabilityai/sdxl-turbo, or a local folder",
        local=True,
    ),
    BackendSpec(
        "gemini",
        ("caption", "text", "image"),
        "gemini",
        model_hint="the provider's model name (e.g. gemini-2.5-flash; for images gemini-2.5-flash-image)",
        key_env="GOOGLE_API_KEY",
        key_hint="keys come from https://aistudio.google.com/apikey",
    ),
    BackendSpec(
        "openai",
        ("caption", "text"),
        "openai_compat",
        model_hint="the provider's model name (e.g. gpt-4o-mini, Qwen/Qwen2-VL-7B-Instruct on vLLM)",
        key_env="OPENAI_API_KEY",
        key_hint="for a local server without auth any value works",
    ),
)
BACKENDS: dict[str, BackendSpec] = {spec.name: spec for spec in _SPECS}


def names(kind: str) -> tuple[str, ...]:
    return tuple(spec.name for spec in _SPECS if kind in spec.kinds)


def api_backends(kind: str) -> tuple[str, ...]:
    return tuple(spec.name for spec in _SPECS if kind in spec.kinds and spec.is_api)


MODEL_KINDS = ("baseline", "api", "local_vlm")


def model_kind(backend: str) -> str:
    """The model kind of a caption backend; an unknown name fails naming the registry, never a blank kind."""
    spec = BACKENDS.get(backend)
    if spec is None or spec.model_kind is None:
        raise ValueError(
            f"no caption backend {backend!r}; registered: {', '.join(names('caption'))} "
            "(workbench_dagster/backends/registry.py)"
        )
    return spec.model_kind


def check_name(kind: str, name: str) -> str:
    """For config fields: an unknown name fails the load with the names that would work."""
    if name not in names(kind):
        raise ValueError(
            f"unknown {kind} backend {name!r}; registered: {', '.join(names(kind))} "
            "(workbench_dagster/backends/registry.py)"
        )
    return name


def _build(kind: str, config, what: str, device=None, dtype=None, **options):
    spec = BACKENDS[config.backend]
    if spec.module is None:
        raise BackendUnavailable(f"{what}: backend {spec.name!r} is built in the graph, not by a backend factory")
    factory = getattr(importlib.import_module(f"workbench_dagster.backends.{spec.module}"), f"{kind}_backend")
    return factory(config, **options, **_runtime(spec, config, what, device, dtype))


def _runtime(spec: BackendSpec, config, what: str, device, dtype) -> dict:
    """The API key (read at the start of a partition and handed straight to the client, never stored
    on config or asset objects) or the torch device, whichever the backend runs on."""
    if spec.local:
        if device is None or dtype is None:
            from workbench_dagster.device import pick_device

            device, dtype = pick_device()
        return {"device": device, "dtype": dtype}
    if not spec.is_api:
        return {}
    watch_key_envs([config.key_env])  # whatever the server echoes of this key is masked from now on
    api_key = os.environ.get(config.key_env, "").strip()  # definitions.py loads .env first
    if not api_key:
        hint = f"; {spec.key_hint}" if spec.key_hint else ""
        raise BackendUnavailable(
            f"{what} needs an API key: set the environment variable {config.key_env} (or put it in .env){hint}"
        )
    return {"api_key": api_key}


def make_backend(model_config, device=None, dtype=None):
    """The caption backend for a configured model; raises BackendUnavailable with what to set when
    it cannot run here. `device`/`dtype` are the GPU resource's choice (auto-picked when not given)
    and only reach local backends."""
    return _build(
        "caption", model_config, f"model {model_config.id!r} (backend {model_config.backend})", device, dtype
    )


def make_text_backend(text_config, purpose: str):
    """The backend a `TextModelConfig` names; `purpose` ("comments", "summaries") prefixes the model id,
    so the two uses of one provider model keep apart in the call cache and the rows."""
    what = f"{purpose} (backend {text_config.backend}, model {text_config.model!r})"
    return _build("text", text_config, what, model_id=f"{purpose}-{text_config.model}")


def make_image_backend(images_config, device=None, dtype=None):
    what = f"images (backend {images_config.backend}, model {images_config.model!r})"
    return _build("image", images_config, what, device, dtype)
