"""What the local-model backends (transformers captions, diffusers images) share: models loaded
once per process, dtypes read from a name, and one way to say that a model could not be loaded.

Loading takes seconds to minutes and the weights hold GPU memory, so every backend object built
for the same (model, revision, device, dtype, ...) shares one loaded model.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import torch

from workbench_dagster.backends.base import BackendUnavailable


def quiet_progress_bars() -> None:
    """Off: the tqdm bars libraries draw while loading a model ("Loading weights", hub downloads,
    diffusers' pipeline components). They land in the middle of the run's log and `make demo`'s
    output, which report progress per step already. Called where the project loads a model (the
    local backends, the embedder, BERTScore); process-wide and idempotent. The project's own
    progress is its log lines, untouched."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read by huggingface_hub at import
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as transformers_logging

    disable_progress_bars()
    transformers_logging.disable_progress_bar()
    if "diffusers" in sys.modules:  # never imported for this alone: it is an optional extra
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()


def dtype_name(dtype: torch.dtype | str) -> str:
    return str(dtype).replace("torch.", "")


def as_dtype(dtype: torch.dtype | str) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    value = getattr(torch, dtype_name(dtype), None)
    if not isinstance(value, torch.dtype):
        raise ValueError(f"not a torch dtype: {dtype!r}")
    return value


def revision_kwargs(revision: str | None) -> dict:
    """`from_pretrained` keyword arguments: a revision only where one is pinned."""
    return {"revision": revision} if revision else {}


def load_failure(
    library: str, model: str, revision: str | None, exc: Exception, *, setting: str, holding: str, extra: str = ""
) -> BackendUnavailable:
    """What to set when `from_pretrained` failed: the model as a local folder or a hub id this machine has."""
    return BackendUnavailable(
        f"{library} model {model!r}{f' (revision {revision})' if revision else ''} could not be loaded: "
        f"{type(exc).__name__}: {exc}. Set {setting} to a local folder holding {holding}, or to a hub id that is "
        f"in the local Hugging Face cache or reachable (HF_HUB_OFFLINE=0){extra}"
    )


_EVERY_CACHE: list[LoadedModels] = []


class LoadedModels:
    """Models loaded once per process per key; loading happens under the lock, so two threads
    asking for the same model load it once."""

    def __init__(self) -> None:
        self._loaded: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        _EVERY_CACHE.append(self)

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load()
            return self._loaded[key]

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()


def clear_loaded() -> None:
    """Drop every loaded model of every local backend (tests, or a long-lived process that switches models)."""
    for cache in _EVERY_CACHE:
        cache.clear()


class LocalModel:
    """Which weights a local backend runs, and where: the part of its cache identity that every
    local backend has, since other weights or another precision give another answer."""

    model_name: str
    revision: str | None
    device: str
    dtype: torch.dtype

    def _place(self, model: str, revision: str | None, device: str, dtype: torch.dtype | str) -> None:
        self.model_name, self.revision = model, revision
        self.device, self.dtype = str(device), as_dtype(dtype)

    def weights_identity(self) -> dict:
        return {"model": self.model_name, "revision": self.revision, "dtype": dtype_name(self.dtype)}
