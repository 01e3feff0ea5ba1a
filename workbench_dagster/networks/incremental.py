"""A model's similarity layers grown by the nodes a new batch adds, instead of searched again over the corpus.

Every layer is a function of per-node ranked lists (neighbour_lists.py): a vector layer of
each node's k most similar others by (rounded cosine desc, index asc), the label layer of
its k best positive Jaccards. Adding nodes changes a list only by the new nodes entering
it, so a build with the previous lists (neighbour_state.py) scores the new nodes against
all nodes, ranks the new nodes' lists from those scores and merges the new scores into
the old nodes' lists: m x n products instead of n^2 / 2. The scores are the ones the full
search computes (knn.canonical_similarities for cosines, the same int / int for Jaccard),
so the merged lists, hence the layers and every variant's edges, are the full build's bit
for bit. Whenever that cannot be guaranteed (no state, an unreadable one, a node removed
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
from workbench_dagster.networks.knn import SIMILARITY_DECIMALS, canonical_similarities, exact_neighbours
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

CANDIDATE_ENTRIES = 1 << 22  # (row, candidate) pairs ranked at a time


def _ranked_candidates(scores: np.ndarray, cols: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best `width` of the columns `cols` (scores: rows x len(cols), -inf = not a candidate).

    A partition finds each row's width-th best score; only the entries at or above it (ties
    included) are ranked, so a row of 10,000 candidates costs a linear pass, not a sort.
    """
    n_rows, n_cols = scores.shape
    if width == 0:
        return np.full((n_rows, 0), PAD, np.int64), np.full((n_rows, 0), -np.inf, scores.dtype)
    out_nb, out_sc = np.empty((n_rows, width), np.int64), np.empty((n_rows, width), scores.dtype)
    step = max(1, CANDIDATE_ENTRIES // max(1, n_cols))
    for start in range(0, n_rows, step):
        part = scores[start : start + step]
        keep = ~np.isneginf(part)
        if n_cols > width:
            keep &= part >= np.partition(part, n_cols - width, axis=1)[:, n_cols - width, None]
        r, c = np.nonzero(keep)
        nb, sc = padded(len(part), r, cols[c], part[r, c], width)
        out_nb[start : start + len(part)], out_sc[start : start + len(part)] = nb, sc.astype(scores.dtype)
    return out_nb, out_sc


def grow_lists(
    old_at: np.ndarray, old_nb: np.ndarray, old_sc: np.ndarray, n: int, width: int, score_new
) -> tuple[np.ndarray, np.ndarray]:
    """The lists of n nodes from the lists of the old ones (now at positions `old_at`) and the new nodes' scores.

    score_new(new) -> len(new) x n scores of the new nodes against all nodes, -inf where a pair
    cannot be a neighbour (itself, a zero Jaccard). New nodes rank all nodes; old nodes merge
    their scores against the new nodes into their old lists.
    """
    is_new = np.ones(n, dtype=bool)
    is_new[old_at] = False
    new = np.flatnonzero(is_new)
    old_nb = np.where(old_nb == PAD, PAD, old_at[np.maximum(old_nb, 0)])  # old numbering -> new
    nb = np.full((n, width), PAD, dtype=np.int64)
    sc = np.full((n, width), -np.inf, dtype=old_sc.dtype)
    if len(new) == 0:
        nb[old_at], sc[old_at] = merged(old_nb, old_sc, old_nb[:, :0], old_sc[:, :0], width)
        return nb, sc
    scores = score_new(new)
    scores[np.arange(len(new)), new] = -np.inf  # not its own neighbour
    nb[new], sc[new] = _ranked_candidates(scores, np.arange(n), width)
    against_new = np.ascontiguousarray(scores[:, old_at].T)
    enter = np.arange(len(old_at))  # the lists grew (fewer nodes than k before): every row merges
    if old_nb.shape[1] == width and width:
        nb[old_at], sc[old_at] = old_nb, old_sc
        worst = old_sc[:, -1]
        enter = np.flatnonzero((against_new >= worst[:, None]).any(axis=1))  # >=: a tie at a lower index enters
    from_new_nb, from_new_sc = _ranked_candidates(against_new[enter], new, width)
    rows = old_at[enter]
    nb[rows], sc[rows] = merged(old_nb[enter], old_sc[enter], from_new_nb, from_new_sc, width)
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

    def score_new(new: np.ndarray) -> np.ndarray:
        return canonical_similarities(unit[new], unit).astype(np.float32)

    nb, sc, report = _lists(
        folder / f"{name}.npz", positions, store.row_fingerprints(unit), keys, width, full, score_new
    )
    return knn_adjacency(n, *flat(nb, sc), settings.min_similarity), report


def _label_layer(
    ids, label_sets, labels, settings: GraphConfig, folder: Path, positions
) -> tuple[sp.csr_matrix, dict]:
    n = len(ids)
    width = max(0, min(settings.k, n - 1))
    keys = {"layer": "label", "k": settings.k, "labels": list(labels)}
    group, x = label_groups(label_sets, labels)
    members = x[group]
    sizes = members.sum(axis=1).astype(np.int64)
    names = np.asarray(labels, dtype=object)
    set_names = ["\x1f".join(names[np.flatnonzero(row)]) for row in x]  # taxonomy order; one per distinct set
    fingerprints = store.row_fingerprints(set_names)[group]

    def score_new(new: np.ndarray) -> np.ndarray:
        inter = (members[new] @ members.T).astype(np.int64)  # 0/1 rows: exact integers
        union = sizes[new, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros(inter.shape), where=union > 0)
        return np.where(jac > 0, jac, -np.inf)

    def full() -> tuple[np.ndarray, np.ndarray]:
        return label_lists(label_sets, labels, settings.k)

    nb, sc, report = _lists(folder / "label.npz", positions, fingerprints, keys, width, full, score_new)
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
