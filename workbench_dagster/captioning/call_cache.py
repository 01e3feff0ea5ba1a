"""The call cache: a model or API call is paid for once.

The key covers everything that can change an answer (design: backend, model id, prompt
version, rendered prompt, image sha256, decoding parameters, schema version). Only successes
are stored: a failure is recorded as a failure row by the caller and retried next run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping

from upath import UPath

from workbench_dagster.storage.cache_store import CacheStore, open_store

SCHEMA_VERSION = "caption-v1"
_FAILED = ("invalid", "error")


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


class _StoreBacked:
    """What both caches share: a store per cache folder (`storage.cache_store`: SQLite locally,
    Parquet segments on `s3://`), safe across processes and threads, opened (and an old
    one-file-per-entry folder migrated) on first use, so building one costs nothing."""

    legacy_suffix = ""

    def __init__(self, root: str | os.PathLike):
        self.root = UPath(root)
        self._store = None

    @property
    def store(self) -> CacheStore:
        if self._store is None:
            self._store = open_store(self.root, legacy_suffix=self.legacy_suffix, validate=self._readable)
        return self._store

    @classmethod
    def _readable(cls, data: bytes) -> bool:
        return cls._decode(data) is not None

    @staticmethod
    def _decode(data: bytes):
        raise NotImplementedError

    def get(self, key: str):
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict:
        """The values found, by key; a key missing or damaged is absent."""
        found = {}
        for key, data in self.store.get_many(keys).items():
            value = self._decode(data)
            if value is not None:
                found[key] = value
        return found

    def items(self) -> Iterator[tuple[str, object]]:
        """Every readable entry, for a tool or a test that edits the cache."""
        for key, data in self.store.items():
            value = self._decode(data)
            if value is not None:
                yield key, value

    def __contains__(self, key: str) -> bool:
        return key in self.get_many([key])

    def __len__(self) -> int:
        return len(self.store)

    def __getstate__(self) -> dict:
        return {"root": self.root}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["root"])


class CallCache(_StoreBacked):
    """Successful calls by key, as JSON records."""

    legacy_suffix = ".json"

    @staticmethod
    def _decode(data: bytes) -> dict | None:
        try:
            record = json.loads(data.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # a damaged entry is a miss, and the next success overwrites it
        return record if isinstance(record, dict) and record.get("parse_status") not in _FAILED else None

    def put(self, key: str, record: dict) -> None:
        self.put_many({key: record})

    def put_many(self, records: Mapping[str, dict]) -> None:
        """All or nothing: one failure among them refuses the whole batch before anything is written."""
        for key, record in records.items():
            if record.get("parse_status") in _FAILED:
                raise ValueError(f"failures are never cached as successes (key {key})")
        self.store.put_many(
            (key, json.dumps(record, ensure_ascii=False, sort_keys=True).encode())
            for key, record in records.items()
        )


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
    hits = cache.get_many(keys)
    found = [hits.get(key) for key in keys]
    missing = [i for i, record in enumerate(found) if record is None]
    fresh = compute([texts[i] for i in missing]) if missing else []
    for i, record in zip(missing, fresh):
        found[i] = record
    cache.put_many({keys[i]: found[i] for i in missing[: len(fresh)]})
    return found, len(missing)


class VectorCache(_StoreBacked):
    """Embeddings by sha256(embedder, text): comments shared by every model are embedded once.
    Stored as `.npy` bytes."""

    legacy_suffix = ".npy"
    key = staticmethod(text_key)  # (embedder, text)

    @staticmethod
    def _decode(data: bytes):
        return _load_vector(data)

    def put(self, key: str, vector) -> None:
        self.put_many({key: vector})

    def put_many(self, vectors: Mapping) -> None:
        self.store.put_many((key, _dump_vector(vector)) for key, vector in vectors.items())


def _dump_vector(vector) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vector, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def _load_vector(data: bytes):
    import numpy as np

    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
