"""The neighbour lists of one similarity layer kept between builds, so that the next build can grow them.

A state file (`<data_dir>/state/networks/<model>/<layer>.lists`, written whole or not at all)
holds the layer's node ids in order, a fingerprint of each node's input (its unit vector,
or its label set), the settings and code the lists were made with, and the ranked lists
themselves (neighbour_lists.py). A later build may only merge into them when every old
node is still there with the same fingerprint and nothing else changed; `reuse_check`
says which, or why not, in words that go into the asset's metadata.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from upath import UPath

from workbench_dagster.networks.neighbour_lists import PAD
from workbench_dagster.storage.atomic import write_bytes_atomic

_CODE = ("knn.py", "top_k_heaps.py", "similarity.py", "neighbour_lists.py", "incremental.py", "neighbour_state.py")
FORMAT = 2  # 1: npz


@cache
def code_fingerprint() -> str:
    """A digest of the modules that decide what a list holds: lists made by other code are not reused.
    Read once per process: the code that runs is the code that was imported."""
    digest = hashlib.blake2b(digest_size=8)
    for name in _CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


@dataclass
class LayerState:
    ids: np.ndarray  # node ids, in node order
    fingerprints: np.ndarray  # n x 16 uint8, one digest per node's input
    settings: dict
    neighbours: np.ndarray  # n x width int64 indices into ids, PAD where fewer
    scores: np.ndarray  # n x width, -inf at PAD


def row_fingerprints(rows) -> np.ndarray:
    """A 16-byte fingerprint per row: of a float32 matrix's rows (-0.0 counted as 0.0), or of strings.

    Matrix rows go through one compiled pass (top_k_heaps.row_hashes): a hashlib call per
    row costs 8 us, a quarter of a second per build at 30,000 vector rows. Strings (label
    sets, one per distinct set) go through blake2b.
    """
    if not isinstance(rows, np.ndarray):
        digests = b"".join(hashlib.blake2b(row.encode(), digest_size=16).digest() for row in rows)
        return np.frombuffer(digests, dtype=np.uint8).reshape(len(rows), 16).copy()
    from workbench_dagster.networks.top_k_heaps import row_hashes

    words = np.ascontiguousarray(rows, dtype=np.float32).reshape(len(rows), -1).view(np.uint32)  # -0.0: row_hashes
    return row_hashes(words, _hash_keys(words.shape[1])).view(np.uint8).reshape(len(rows), 16)


@cache
def _hash_keys(columns: int) -> np.ndarray:
    """Fixed odd 64-bit keys per column (the same in every process: fingerprints are compared across runs)."""
    keys = np.random.default_rng(0x5EED).integers(0, 1 << 63, size=(2, columns), dtype=np.uint64)
    return keys * np.uint64(2) + np.uint64(1)


_MAGIC = b"WBLISTS\n"
_ARRAYS = ("ids", "fingerprints", "neighbours", "scores")


def save(path: Path, state: LayerState) -> None:
    """The state as one buffer: a magic line, the JSON header's length and the header (format,
    settings, each array's dtype, shape and offset), then the arrays' bytes. Written whole
    (write_bytes_atomic); read back without a copy. An npz took three times as long, for its
    zip members and their checksums, on every build."""
    arrays = {name: np.ascontiguousarray(getattr(state, name)) for name in _ARRAYS}
    arrays["ids"] = np.ascontiguousarray(np.asarray(state.ids, dtype=str))
    layout, offset = {}, 0
    for name, array in arrays.items():
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        offset += array.nbytes
    header = json.dumps({"format": FORMAT, "settings": state.settings, "arrays": layout, "size": offset}).encode()
    parts = [_MAGIC, len(header).to_bytes(8, "little"), header]
    parts += [array.reshape(-1).view(np.uint8).data for array in arrays.values() if array.nbytes]
    write_bytes_atomic(UPath(str(path)), b"".join(parts))


class StateUnusable(Exception):
    """The state cannot be merged into; the message says why (it ends up in metadata)."""


def load(path: Path) -> LayerState:
    path = UPath(path)  # a local folder or an object-store URI
    if not path.exists():
        raise StateUnusable(f"no state at {path} (first build)")
    try:
        raw = path.read_bytes()
        if raw.startswith(b"PK"):
            raise StateUnusable(f"state {path} has format 1 (npz), this code writes {FORMAT}")
        if not raw.startswith(_MAGIC):
            raise ValueError("not a neighbour-list state file")
        start = len(_MAGIC) + 8
        size = int.from_bytes(raw[len(_MAGIC) : start], "little")
        header = json.loads(raw[start : start + size])
        if header.get("format") != FORMAT:
            raise StateUnusable(f"state {path} has format {header.get('format')}, this code writes {FORMAT}")
        body = start + size
        if len(raw) != body + header["size"]:
            raise ValueError(f"{len(raw)} bytes where the header says {body + header['size']} (a torn write?)")
        arrays = {}
        for name in _ARRAYS:
            spec = header["arrays"][name]
            dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
            count = int(np.prod(shape))
            arrays[name] = np.frombuffer(raw, dtype, count, body + spec["offset"]).reshape(shape)
        state = LayerState(settings=header["settings"], **arrays)
    except StateUnusable:
        raise
    except Exception as err:  # a torn or foreign file: whatever the parsing raises
        raise StateUnusable(f"state {path} unreadable ({type(err).__name__}: {err})") from err
    n = len(state.ids)
    shapes_ok = (
        state.fingerprints.shape == (n, 16)
        and state.neighbours.ndim == 2
        and state.neighbours.shape[0] == n
        and state.scores.shape == state.neighbours.shape
        and (n == 0 or (state.neighbours.min(initial=PAD) >= PAD and state.neighbours.max(initial=PAD) < n))
    )
    if not shapes_ok:
        raise StateUnusable(f"state {path} inconsistent: arrays of {n} ids do not match their lists")
    return state


class NodePositions:
    """Where a state's old ids sit among this build's ids, looked up once for all the layers that share them.

    Every layer's state holds the same ids when the last build wrote them all; hashing 10,000
    ids per layer was a tenth of a grown build.
    """

    def __init__(self, ids: list[str]):
        self.ids = np.asarray(ids, dtype=str)  # what save() writes, converted once
        self._index = pd.Index(np.asarray(ids, dtype=object), dtype=object)
        self._seen: list[tuple[np.ndarray, np.ndarray]] = []

    def of(self, old_ids: np.ndarray) -> np.ndarray:
        for known, where in self._seen:
            if known.shape == old_ids.shape and np.array_equal(known, old_ids):
                return where
        where = self._index.get_indexer(old_ids.astype(object)).astype(np.int64)
        self._seen.append((old_ids, where))
        return where


def reuse_check(
    state: LayerState,
    ids: list[str],
    fingerprints: np.ndarray,
    settings: dict,
    positions: NodePositions | None = None,
) -> np.ndarray:
    """Where each old node sits among `ids`, when the old lists can be grown; else StateUnusable.

    Old nodes must keep their relative order (ids are sorted, so they do), so that ties,
    broken by node index, rank the old nodes as before.
    """
    if state.settings != settings:
        changed = sorted(
            k for k in set(state.settings) | set(settings) if state.settings.get(k) != settings.get(k)
        )
        raise StateUnusable(f"settings changed: {', '.join(changed)}")
    old_ids = state.ids
    where = (positions or NodePositions(ids)).of(old_ids)
    missing = np.flatnonzero(where < 0)
    if len(missing):
        raise StateUnusable(f"{len(missing)} node(s) removed, e.g. {old_ids[missing[0]]}")
    if len(where) > 1 and np.any(np.diff(where) <= 0):
        raise StateUnusable("old nodes changed order")
    changed = np.flatnonzero(np.any(fingerprints[where] != state.fingerprints, axis=1))
    if len(changed):
        raise StateUnusable(f"{len(changed)} node input(s) changed, e.g. {old_ids[changed[0]]}")
    return where
