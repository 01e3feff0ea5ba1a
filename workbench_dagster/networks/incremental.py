"""A model's similarity layers grown by the nodes a new batch adds, instead of searched again over the corpus.

Every layer is a function of per-node ranked lists (neighbour_lists.py): a vector layer of
each node's k most similar others by (rounded cosine desc, index asc), the label layer of
its k best positive Jaccards. Adding nodes changes a list only by the new nodes entering
it, so a build with the previous lists (neighbour_state.py) scores the new nodes against
all nodes, ranks the new nodes' lists from those scores and merges the new scores into
the old nodes' lists: m x n products instead of n^2 / 2. The scores are the ones the full
search computes (the canonical rounding of knn.canonical_similarities for cosines, the
same int / int for Jaccard), so the merged lists, hence the layers and every variant's
edges, are the full build's bit for bit. Cosines are screened first by a float32 product
with a bound on its error (knn.screened_similarities): only the entries that can still
enter a list, a few per new node, are summed exactly. Whenever that cannot be guaranteed (no state, an unreadable one, a node removed
or changed, other settings or code, an approximate search) the layer is built in full and
the report says why. The multiplex combination, centralities and Leiden are not
incremental: they run on the finished layers (see the benchmark for why that is cheap
enough at the kNN's expense).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench_dagster.networks import neighbour_state as store
from workbench_dagster.networks.knn import SIMILARITY_DECIMALS, exact_neighbours, screened_similarities
from workbench_dagster.networks.layers import vector_layers
from workbench_dagster.networks.neighbour_lists import PAD, flat, merged, padded
from workbench_dagster.networks.similarity import (
    knn_adjacency,
    knn_similarity_graph,
    label_adjacency,
    label_groups,
    label_lists,
    unit_rows,
)
from workbench_dagster.scenario.config import GraphConfig


def dense_candidates(
    scores: np.ndarray, width: int, floor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """score_new's triples from a dense rows x n matrix (-inf = not a candidate): the entries at or
    above their row's width-th best (ties included) or their column's floor, row-major.

    A partition finds the width-th best, so a row of 10,000 candidates costs a linear pass, not a sort.
    """
    n_rows, n_cols = scores.shape
    keep = ~np.isneginf(scores)
    if n_cols > width:
        top = np.partition(scores, n_cols - width, axis=1)[:, n_cols - width, None] if width else np.inf
        keep &= (scores >= top) | (scores >= floor[None, :])
    r, c = np.nonzero(keep)
    return r, c, scores[r, c]


def grow_lists(
    old_at: np.ndarray, old_nb: np.ndarray, old_sc: np.ndarray, n: int, width: int, score_new
) -> tuple[np.ndarray, np.ndarray]:
    """The lists of n nodes from the lists of the old ones (now at positions `old_at`) and the new nodes' scores.

    score_new(new, floor) -> (r, c, score): scores of new nodes new[r] against nodes c, every
    entry that can enter a list: among its row's width best (ties included; never the node
    itself, nor a zero Jaccard), or at least `floor[c]`, the worst score node c's old list
    keeps (-inf where every score enters it, +inf for new nodes). New nodes rank their
    entries; old nodes merge theirs into their old lists.
    """
    is_new = np.ones(n, dtype=bool)
    is_new[old_at] = False
    new = np.flatnonzero(is_new)
    old_nb = np.where(old_nb == PAD, PAD, old_at[np.maximum(old_nb, 0)])  # old numbering -> new
    nb = np.full((n, width), PAD, dtype=np.int64)
    sc = np.full((n, width), -np.inf, dtype=old_sc.dtype)
    full_lists = old_nb.shape[1] == width and width > 0
    if len(new) == 0:
        nb[old_at], sc[old_at] = merged(old_nb, old_sc, old_nb[:, :0], old_sc[:, :0], width)
        return nb, sc
    floor = np.full(n, np.inf)
    floor[old_at] = old_sc[:, -1] if full_lists else -np.inf
    r, c, v = score_new(new, floor)
    new_nb, new_sc = padded(len(new), r, c, v, width)
    nb[new], sc[new] = new_nb, new_sc.astype(sc.dtype)
    old_of = np.full(n, -1, dtype=np.int64)
    old_of[old_at] = np.arange(len(old_at))
    hit = (old_of[c] >= 0) & (v >= floor[c])  # >=: a tie at a lower index enters
    if full_lists:
        nb[old_at], sc[old_at] = old_nb, old_sc
        enter = np.unique(old_of[c[hit]])
    else:  # the lists grew (fewer nodes than k before): every row merges
        enter = np.arange(len(old_at))
    slot = np.full(len(old_at), -1, dtype=np.int64)
    slot[enter] = np.arange(len(enter))
    from_nb, from_sc = padded(len(enter), slot[old_of[c[hit]]], new[r[hit]], v[hit], width)
    rows = old_at[enter]
    nb[rows], sc[rows] = merged(old_nb[enter], old_sc[enter], from_nb, from_sc.astype(sc.dtype), width)
    return nb, sc


def _vector_layer(
    name, ids, vectors, settings: GraphConfig, folder: Path, positions
) -> tuple[sp.csr_matrix, dict]:
    unit = unit_rows(vectors)
    n = len(ids)
    if n > settings.approximate_above:
        adj = knn_similarity_graph(
            vectors, settings.k, settings.min_similarity, settings.approximate_above, settings.seed
        )
        return adj, {"mode": "full", "reason": f"{n} nodes > graph.approximate_above: approximate search"}
    keys = {"layer": name, "k": settings.k, "decimals": SIMILARITY_DECIMALS, "dim": int(unit.shape[1])}
    width = max(0, min(settings.k, n - 1))

    def full() -> tuple[np.ndarray, np.ndarray]:
        rows, cols, sims = exact_neighbours(unit, settings.k)
        return padded(n, rows, cols, sims, width)

    def score_new(new: np.ndarray, floor: np.ndarray) -> np.ndarray:
        return screened_similarities(unit, new, width, floor)

    nb, sc, report = _lists(
        folder / f"{name}.lists", positions, store.row_fingerprints(unit), keys, width, full, score_new
    )
    return knn_adjacency(n, *flat(nb, sc), settings.min_similarity), report


def _label_layer(
    ids, label_sets, labels, settings: GraphConfig, folder: Path, positions
) -> tuple[sp.csr_matrix, dict]:
    n = len(ids)
    width = max(0, min(settings.k, n - 1))
    keys = {"layer": "label", "k": settings.k, "labels": list(labels)}
    group, x = label_groups(label_sets, labels)
    sizes = x.sum(axis=1).astype(np.int64)
    fingerprints = store.row_fingerprints(x)[group]  # the set's indicator row: the taxonomy is in `keys`

    def score_new(new: np.ndarray, floor: np.ndarray) -> np.ndarray:  # exact and cheap: no screening
        """Jaccard of the new images' sets with every distinct set (the same int / int), spread over the images."""
        mine = group[new]
        inter = (x[mine] @ x.T).astype(np.int64)  # 0/1 rows: exact integers
        union = sizes[mine, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros(inter.shape), where=union > 0)
        scores = np.where(jac > 0, jac, -np.inf)[:, group]
        scores[np.arange(len(new)), new] = -np.inf  # not its own neighbour
        return dense_candidates(scores, width, floor)

    def full() -> tuple[np.ndarray, np.ndarray]:
        return label_lists(label_sets, labels, settings.k)

    nb, sc, report = _lists(folder / "label.lists", positions, fingerprints, keys, width, full, score_new)
    return label_adjacency(nb, sc), report


def _lists(path: Path, positions: store.NodePositions, fingerprints, keys: dict, width: int, full, score_new):
    """The layer's lists, grown from the state at `path` when it allows, else searched in full; state rewritten."""
    keys = {**keys, "code": store.code_fingerprint()}
    ids = positions.ids
    try:
        old = store.load(path)
        old_at = store.reuse_check(old, ids, fingerprints, keys, positions)
        nb, sc = grow_lists(old_at, old.neighbours, old.scores, len(ids), width, score_new)
        report = {"mode": "incremental", "new_nodes": len(ids) - len(old_at)}
    except store.StateUnusable as why:
        nb, sc = full()
        report = {"mode": "full", "new_nodes": len(ids), "reason": str(why)}
    store.save(path, store.LayerState(ids, fingerprints, keys, nb, sc))
    return nb, sc, report


def layer_graphs_with_state(
    ids: list[str],
    label_sets: list[list[str]],
    embeddings: pd.DataFrame,
    labels: list[str],
    settings: GraphConfig,
    visual: dict | None,
    folder: Path,
) -> tuple[dict[str, sp.csr_matrix], dict[str, dict]]:
    """layers.layer_graphs, grown from the lists kept in `folder` where possible; and per layer how."""
    layers, reports = {}, {}
    positions = store.NodePositions(ids)
    layers["label"], reports["label"] = _label_layer(ids, label_sets, labels, settings, folder, positions)
    for name, vectors in vector_layers(ids, embeddings, visual).items():
        adj, reports[name] = _vector_layer(name, ids, vectors, settings, folder, positions)
        np.clip(adj.data, -1.0, 1.0, out=adj.data)
        layers[name] = adj
    return layers, reports
