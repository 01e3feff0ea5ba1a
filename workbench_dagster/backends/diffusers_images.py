"""Local text-to-image models (FLUX.1-schnell, SDXL-Turbo, any diffusers text-to-image pipeline)
as an image backend. Needs the optional extra: pip install -e '.[diffusers]'.

The pipeline is loaded by hub id or local folder with `AutoPipelineForText2Image`, on the GPU
resource's device and dtype, once per process. Each image gets its own generator seeded from
the prompt row, on the CPU, so the same row gives the same starting noise on any device.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from typing import Any

import torch

from workbench_dagster.backends.base import BackendError, BackendUnavailable

_LOADED: dict[tuple, Any] = {}
_LOAD_LOCK = threading.Lock()
_GENERATE_LOCK = threading.Lock()


def _dtype_name(dtype: torch.dtype | str) -> str:
    return str(dtype).replace("torch.", "")


def load_pipeline(model: str, *, revision: str | None, device: str, dtype: torch.dtype) -> Any:
    key = (model, revision, str(device), _dtype_name(dtype))
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        if importlib.util.find_spec("diffusers") is None:
            raise BackendUnavailable(
                "images.backend: diffusers needs the optional extra: pip install -e '.[diffusers]'"
            )
        from diffusers import AutoPipelineForText2Image

        kwargs: dict = {"revision": revision} if revision else {}
        try:
            pipeline = AutoPipelineForText2Image.from_pretrained(model, dtype=dtype, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            raise BackendUnavailable(
                f"diffusers model {model!r} could not be loaded: {type(exc).__name__}: {exc}. Set images.model to a "
                "local folder holding the pipeline, or to a hub id that is in the local Hugging Face cache or "
                "reachable (HF_HUB_OFFLINE=0)"
            ) from exc
        pipeline = pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        _LOADED[key] = pipeline
        return pipeline


def clear_loaded() -> None:
    with _LOAD_LOCK:
        _LOADED.clear()


class DiffusersImageBackend:
    """prompt text + seed -> PNG bytes."""

    backend = "diffusers"

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        dtype: torch.dtype | str = torch.float32,
        revision: str | None = None,
        steps: int = 4,
        guidance_scale: float = 0.0,
        width: int = 512,
        height: int = 512,
    ):
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        self.model_name = model
        self.revision = revision
        self.device = str(device)
        self.dtype = dtype
        self.steps = int(steps)
        self.guidance_scale = float(guidance_scale)
        self.width = int(width)
        self.height = int(height)
        self.pipeline = load_pipeline(model, revision=revision, device=self.device, dtype=dtype)

    @classmethod
    def from_config(
        cls, images_config, device: str = "cpu", dtype: torch.dtype | str = torch.float32
    ) -> DiffusersImageBackend:
        if not images_config.model:
            raise BackendUnavailable(
                "images.backend: diffusers needs images.model (e.g. black-forest-labs/FLUX.1-schnell, "
                "stabilityai/sdxl-turbo, or a local folder)"
            )
        return cls(
            images_config.model,
            device=device,
            dtype=dtype,
            revision=images_config.revision,
            steps=images_config.steps,
            guidance_scale=images_config.guidance_scale,
            width=images_config.width,
            height=images_config.height,
        )

    def cache_identity(self) -> dict:
        """Everything besides prompt and seed that changes the picture."""
        return {
            "model": self.model_name,
            "revision": self.revision,
            "dtype": _dtype_name(self.dtype),
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "width": self.width,
            "height": self.height,
        }

    def generate(self, prompt: str, seed: int) -> bytes:
        generator = torch.Generator("cpu").manual_seed(int(seed))
        try:
            with _GENERATE_LOCK, torch.inference_mode():
                result = self.pipeline(
                    prompt,
                    num_inference_steps=self.steps,
                    guidance_scale=self.guidance_scale,
                    width=self.width,
                    height=self.height,
                    generator=generator,
                )
        except torch.cuda.OutOfMemoryError as exc:
            raise BackendError(
                f"CUDA out of memory at {self.width}x{self.height}; lower images.width/height"
            ) from exc
        buffer = io.BytesIO()
        result.images[0].convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()


def image_backend(images_config, *, device: str, dtype) -> DiffusersImageBackend:
    return DiffusersImageBackend.from_config(images_config, device=device, dtype=dtype)
