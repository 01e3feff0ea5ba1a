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


def _stack(ids: list[str], keys, vectors: np.ndarray) -> np.ndarray:
    """The rows of `vectors` (one per key) on the node order; a node without one gets zeros."""
    dim = vectors.shape[1] if len(keys) else 1
    out = np.zeros((len(ids), dim), dtype=np.float32)  # an image without text links to nobody in that layer
    if len(keys):
        at = pd.Index(np.asarray(keys, dtype=object)).get_indexer(np.asarray(ids, dtype=object))
        found = at >= 0
        out[found] = vectors[at[found]]
    return out


def _matrix(vectors) -> np.ndarray:
    return np.stack([np.asarray(v, dtype=np.float32) for v in vectors]) if len(vectors) else np.zeros((0, 1))


def _mean_vectors(embeddings: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images with vectors of `source`, and the float32 mean of each one's, added in row order like np.mean(axis=0).

    Rows sorted by image, summed a rank at a time, instead of a groupby loop: 10,000 images took 3 s
    that way, longer than growing the corpus's neighbour lists by a batch.
    """
    rows = embeddings[embeddings["source"] == source]
    if rows.empty:
        return np.empty(0, dtype=object), np.zeros((0, 1), dtype=np.float32)
    images = rows["image_id"].to_numpy(dtype=object)
    order = np.argsort(images, kind="stable")
    vectors = _matrix(rows["vector"].to_numpy()[order])
    keys, starts, counts = np.unique(images[order], return_index=True, return_counts=True)
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
        "caption": _stack(
            ids, captions["image_id"].to_numpy(dtype=object), _matrix(captions["vector"].to_numpy())
        ),
        "comment": _stack(ids, *_mean_vectors(embeddings, "comment")),
    }
    if visual:
        out["visual"] = _stack(ids, list(visual), _matrix(list(visual.values())))
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
