"""Caption, comment and image backends behind one small interface (see base.py)."""

from __future__ import annotations

import os


def api_key_for(model_config) -> str | None:
    """The key from the environment (definitions.py loads .env first). Read at the start of a
    partition and handed straight to the client: never stored on config or asset objects."""
    value = os.environ.get(model_config.key_env, "").strip()
    return value or None


def make_backend(model_config, device=None, dtype=None):
    """The caption backend for a configured model; raises BackendUnavailable with what to set
    when the model cannot run here. The baseline has its own path (it is trained in-graph).
    `device` is for local backends (transformers); API backends ignore it."""
    from workbench_dagster.backends.base import BackendUnavailable

    backend = model_config.backend
    if backend == "openai":
        from workbench_dagster.backends.openai_compat import openai_backend_from_config

        return openai_backend_from_config(model_config, api_key_for(model_config))
    if backend == "gemini":
        from workbench_dagster.backends.gemini import gemini_backend_from_config

        return gemini_backend_from_config(model_config, api_key_for(model_config))
    if backend == "transformers":
        # device/dtype: the GPU resource's choice (GpuResource.pick()); auto-picked when not given.
        from workbench_dagster.backends.transformers_vlm import TransformersVLMBackend

        if device is None or dtype is None:
            from workbench_dagster.device import pick_device

            device, dtype = pick_device()
        return TransformersVLMBackend.from_config(model_config, device=device, dtype=dtype)
    raise BackendUnavailable(
        f"model {model_config.id!r}: backend {backend!r} has no caption backend registered in make_backend"
    )
