"""The similarity layers of the multiplex: one sparse kNN graph per layer, on one node order.

Every layer is a sparse kNN graph (blocked products with top-k, an approximate index above
`graph.approximate_above` items), never an all-pairs Python loop. The layers and their edge
columns are declared in variant_registry.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench_dagster.networks.similarity import knn_similarity_graph, label_jaccard_graph
from workbench_dagster.scenario.config import GraphConfig


def _positions(ids: list[str], keys) -> np.ndarray:
    """Where each node's row sits among `keys`, -1 where it has none."""
    return pd.Index(np.asarray(keys, dtype=object)).get_indexer(np.asarray(ids, dtype=object))


def _stack(ids: list[str], keys, vectors: np.ndarray) -> np.ndarray:
    """The rows of `vectors` (one per key) on the node order; a node without one gets zeros."""
    dim = vectors.shape[1] if len(keys) else 1
    if not len(keys):
        return np.zeros((len(ids), dim), dtype=np.float32)
    at = _positions(ids, keys)
    if np.all(at >= 0):
        return np.ascontiguousarray(vectors[at], dtype=np.float32)
    out = np.zeros((len(ids), dim), dtype=np.float32)  # an image without text links to nobody in that layer
    found = np.flatnonzero(at >= 0)
    out[found] = vectors[at[found]]
    return out


def _stack_comments(ids: list[str], keys, means) -> np.ndarray:
    """_stack for a matrix of means, _stack_objects for vector objects (images with one comment each)."""
    return (
        _stack(ids, keys, means)
        if isinstance(means, np.ndarray) and means.dtype != object
        else _stack_objects(ids, keys, means)
    )


def _stack_objects(ids: list[str], keys, vectors) -> np.ndarray:
    """`_stack` of one vector object per key, converted in node order: only the nodes' rows, copied once."""
    if not len(keys):
        return np.zeros((len(ids), 1), dtype=np.float32)
    at = _positions(ids, keys)
    found = np.flatnonzero(at >= 0)
    rows = _matrix([vectors[i] for i in at[found]] if len(found) else [vectors[0]])
    if len(found) == len(ids):
        return rows
    out = np.zeros((len(ids), rows.shape[1]), dtype=np.float32)
    out[found] = rows[: len(found)]
    return out


def _matrix(vectors) -> np.ndarray:
    """One float32 row per vector. Concatenated in one pass (half np.stack's time at 10,000 rows); the
    lengths are checked first, so that rows of different sizes fail as np.stack fails, not reshape."""
    if not len(vectors):
        return np.zeros((0, 1))
    lengths = np.fromiter(map(len, vectors), dtype=np.int64, count=len(vectors))
    if np.any(lengths != lengths[0]):
        bad = int(np.flatnonzero(lengths != lengths[0])[0])
        raise ValueError(f"vectors of different lengths: row 0 has {lengths[0]}, row {bad} has {lengths[bad]}")
    flat = np.concatenate(list(vectors)) if lengths[0] else np.zeros(0)
    return np.ascontiguousarray(flat, dtype=np.float32).reshape(len(vectors), int(lengths[0]))


def _mean_vectors(embeddings: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images with vectors of `source`, and the float32 mean of each one's, added in row order like np.mean(axis=0);
    where every image has one vector, the vector objects themselves (converted by the caller, in node order).

    Rows sorted by image, summed a rank at a time, instead of a groupby loop: 10,000 images took 3 s
    that way, longer than growing the corpus's neighbour lists by a batch.
    """
    rows = embeddings[embeddings["source"] == source]
    if rows.empty:
        return np.empty(0, dtype=object), np.zeros((0, 1), dtype=np.float32)
    images = rows["image_id"].to_numpy(dtype=object)
    if pd.Index(images, dtype=object).is_unique:  # one vector each: its mean is itself (v / 1 is v, bit for bit)
        return images, rows["vector"].to_numpy()
    order = np.argsort(images, kind="stable")
    vectors = _matrix(rows["vector"].to_numpy()[order])
    images = images[order]
    starts = np.flatnonzero(np.concatenate([[True], images[1:] != images[:-1]]))  # sorted: a key starts a run
    keys, counts = images[starts], np.diff(np.append(starts, len(images)))
    sums = vectors[starts].copy()
    for rank in range(1, int(counts.max())):  # row by row within each image, as np.mean adds them
        more = np.flatnonzero(counts > rank)
        sums[more] += vectors[starts[more] + rank]
    return keys, sums / counts[:, None].astype(np.float32)


def layer_graphs(
    ids: list[str],
    label_sets: list[list[str]],
    embeddings: pd.DataFrame,
    labels: list[str],
    settings: GraphConfig,
    visual: dict | None = None,
) -> dict[str, sp.csr_matrix]:
    """The multiplex: one sparse kNN adjacency per layer on the same node order (visual only when given)."""

    def knn(vectors: np.ndarray) -> sp.csr_matrix:
        adj = knn_similarity_graph(
            vectors,
            k=settings.k,
            min_similarity=settings.min_similarity,
            approximate_above=settings.approximate_above,
            seed=settings.seed,
        )
        np.clip(adj.data, -1.0, 1.0, out=adj.data)
        return adj

    layers = {"label": label_jaccard_graph(label_sets, labels, k=settings.k)}
    for name, vectors in vector_layers(ids, embeddings, visual).items():
        layers[name] = knn(vectors)
    return layers


def vector_layers(ids: list[str], embeddings: pd.DataFrame, visual: dict | None = None) -> dict[str, np.ndarray]:
    """Each vector layer's n x dim matrix on the node order: caption, comment (mean per image), visual when given."""
    captions = embeddings[embeddings["source"] == "caption"].drop_duplicates("image_id")
    out = {
        "caption": _stack_objects(ids, captions["image_id"].to_numpy(dtype=object), captions["vector"].to_numpy()),
        "comment": _stack_comments(ids, *_mean_vectors(embeddings, "comment")),
    }
    if visual:
        out["visual"] = _stack_objects(ids, list(visual), list(visual.values()))
    return out


def baseline_visual_features(
    checkpoint: str, images: pd.DataFrame, image_ids: list[str], read: Callable[[str], bytes], device: str = "cpu"
) -> dict:
    """image_id -> the baseline's penultimate-layer vector, for the images that decode."""
    from workbench_dagster.captioning.baseline import BaselineModel
    from workbench_dagster.storage.media import decode_image

    wanted = images[(images["status"] == "ok") & images["image_id"].isin(set(image_ids))].drop_duplicates(
        "image_id"
    )
    if wanted.empty:
        return {}
    fitted = BaselineModel.load(checkpoint, device)
    pictures, kept = [], []
    for image_id, uri in zip(wanted["image_id"], wanted["uri"]):
        try:
            pictures.append(decode_image(read(uri)))
            kept.append(image_id)
        except (OSError, ValueError):
            continue
    return dict(zip(kept, fitted.features(pictures))) if kept else {}
