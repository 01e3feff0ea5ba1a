"""The call cache: a model or API call is paid for once.

The key covers everything that can change an answer (design: backend, model id, prompt
version, rendered prompt, image sha256, decoding parameters, schema version). Only successes
are stored: a failure is recorded as a failure row by the caller and retried next run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

from upath import UPath

from workbench_dagster.storage.atomic import write_bytes_atomic

SCHEMA_VERSION = "caption-v1"


def cache_key(
    *,
    backend: str,
    model_id: str,
    prompt_version: str,
    rendered_prompt: str,
    image_sha256: str,
    decoding: dict,
    schema_version: str = SCHEMA_VERSION,
) -> str:
    payload = json.dumps(
        {
            "backend": backend,
            "model_id": model_id,
            "prompt_version": prompt_version,
            "rendered_prompt": rendered_prompt,
            "image_sha256": image_sha256,
            "decoding": decoding,
            "schema_version": schema_version,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class CallCache:
    """One JSON file per successful call, sharded by key prefix; safe across processes."""

    def __init__(self, root: str | os.PathLike):
        self.root = UPath(root)

    def _path(self, key: str) -> UPath:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # a damaged entry is a miss, and the next success overwrites it

    def put(self, key: str, record: dict) -> None:
        if record.get("parse_status") in ("invalid", "error"):
            raise ValueError("failures are never cached as successes")
        write_bytes_atomic(self._path(key), json.dumps(record, ensure_ascii=False, sort_keys=True).encode())

    def __contains__(self, key: str) -> bool:
        return self._path(key).exists()


def text_key(recipe: str, text: str) -> str:
    """What a value derived from one text is cached by: the recipe that derives it (name, version and
    settings, e.g. the embedder or the language set) and the text itself."""
    return hashlib.sha256(f"{recipe}\x1f{text}".encode()).hexdigest()


def cached_per_text(
    cache: CallCache | None, recipe: str, texts: list[str], compute: Callable[[list[str]], list[dict]]
) -> tuple[list[dict], int]:
    """(one JSON record per text, how many were computed): `compute` runs once, on the texts the cache
    lacks, so a second run over unchanged texts computes nothing. Without a cache every text is computed."""
    if cache is None:
        return (compute(list(texts)) if texts else []), len(texts)
    keys = [text_key(recipe, text) for text in texts]
    found = [cache.get(key) for key in keys]
    missing = [i for i, record in enumerate(found) if record is None]
    fresh = compute([texts[i] for i in missing]) if missing else []
    for i, record in zip(missing, fresh):
        cache.put(keys[i], record)
        found[i] = record
    return found, len(missing)


class VectorCache:
    """Embeddings by sha256(embedder, text): comments shared by every model are embedded once."""

    def __init__(self, root: str | os.PathLike):
        self.root = UPath(root)

    key = staticmethod(text_key)  # (embedder, text)

    def _path(self, key: str) -> UPath:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str):
        import io

        import numpy as np

        try:
            return np.load(io.BytesIO(self._path(key).read_bytes()), allow_pickle=False)
        except (FileNotFoundError, ValueError, OSError):
            return None

    def put(self, key: str, vector) -> None:
        import io

        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        write_bytes_atomic(self._path(key), buffer.getvalue())
