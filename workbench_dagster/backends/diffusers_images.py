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

from workbench_dagster.backends import local_models
from workbench_dagster.backends.base import BackendError, BackendUnavailable

_LOADED = local_models.LoadedModels()
_GENERATE_LOCK = threading.Lock()


def load_pipeline(model: str, *, revision: str | None, device: str, dtype: torch.dtype) -> Any:
    key = (model, revision, str(device), local_models.dtype_name(dtype))
    return _LOADED.get(key, lambda: _load_pipeline(model, revision, str(device), dtype))


def _load_pipeline(model: str, revision: str | None, device: str, dtype: torch.dtype) -> Any:
    if importlib.util.find_spec("diffusers") is None:
        raise BackendUnavailable(
            "images.backend: diffusers needs the optional extra: pip install -e '.[diffusers]'"
        )
    from diffusers import AutoPipelineForText2Image

    local_models.quiet_progress_bars()
    try:
        pipeline = AutoPipelineForText2Image.from_pretrained(
            model, dtype=dtype, **local_models.revision_kwargs(revision)
        )
    except (OSError, ValueError, KeyError) as exc:
        raise local_models.load_failure(
            "diffusers", model, revision, exc, setting="images.model", holding="the pipeline"
        ) from exc
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


class DiffusersImageBackend(local_models.LocalModel):
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
        self._place(model, revision, device, dtype)
        self.steps = int(steps)
        self.guidance_scale = float(guidance_scale)
        self.width = int(width)
        self.height = int(height)
        self.pipeline = load_pipeline(model, revision=revision, device=self.device, dtype=self.dtype)

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
            **self.weights_identity(),
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
