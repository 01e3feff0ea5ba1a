"""Similarity layers as sparse graphs: cosine kNN of vectors, Jaccard of label sets, and their average.

Graphs are scipy sparse adjacency matrices whose row order is the caller's node order, so
they can be built for tens of thousands of images without ever materialising the n x n
similarity matrix. Edge weights are kept strictly positive because Leiden and the 1/weight
distances used for shortest paths both assume it.
"""

from __future__ import annotations

import faiss
import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from workbench_dagster.networks.knn import SIMILARITY_DECIMALS, approximate_neighbours, exact_neighbours
from workbench_dagster.networks.neighbour_lists import PAD, flat, padded


def knn_similarity_graph(
    vectors: np.ndarray,
    k: int,
    min_similarity: float,
    approximate_above: int | None = None,
    seed: int = 0,
) -> sp.csr_matrix:
    """Symmetric cosine k-nearest-neighbour graph.

    Cosines are ranked and thresholded at SIMILARITY_DECIMALS (6) decimals, and the weights are
    those rounded values, so noise far below 1e-6 in the vectors rarely moves an edge.
    Up to `approximate_above` items the neighbours are exact: the upper half of the
    similarity matrix is multiplied in BLAS blocks that feed each row's k best straight
    into heaps (`knn.exact_neighbours`), so memory stays O(n k) and the n x n matrix
    never exists. Above it an inverted-file index gives approximate neighbours with exact
    similarities. An edge is kept when either end has
    the other among its k nearest (max symmetrisation), so hubs do not lose their edges to
    nodes that rank them lower.
    """
    x = unit_rows(vectors)
    n = x.shape[0]
    k = min(k, n - 1)
    if n == 0 or k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    if approximate_above is not None and n > approximate_above:
        rows, cols, sims = approximate_neighbours(x, k, seed)
    else:
        rows, cols, sims = exact_neighbours(x, k)
    return knn_adjacency(n, rows, cols, sims, min_similarity)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """The rows scaled to unit length (zero rows stay zero) in contiguous float32: what the kNN search compares."""
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, x.shape[1] if x.ndim > 1 else 0), dtype=np.float32)
    return np.ascontiguousarray(normalize(x.reshape(n, -1)), dtype=np.float32)


def knn_adjacency(
    n: int, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, min_similarity: float
) -> sp.csr_matrix:
    """The symmetric graph of neighbour lists (rows[i] has cols[i] at sims[i], rounded to SIMILARITY_DECIMALS)."""
    keep = (sims >= min_similarity) & (sims > 0)  # sims are rounded to SIMILARITY_DECIMALS (knn.py)
    # the float64 nearest to the rounded decimal; float32 puts twins at 1 + 1e-7
    weights = np.minimum(np.round(sims[keep].astype(np.float64), SIMILARITY_DECIMALS), 1.0)
    return symmetric_max(n, rows[keep], cols[keep], weights)


def symmetric_max(n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """Edge (i, j) when either list holds the other, at the larger weight; canonical CSR (sorted indices),
    so that graphs built from the same lists in another order are the same arrays."""
    adj = sp.csr_matrix((weights, (rows, cols)), shape=(n, n))
    out = adj.maximum(adj.T).tocsr()
    out.sum_duplicates()
    out.sort_indices()
    return out


def label_jaccard_graph(
    label_sets: list[list[str]],
    labels: list[str],
    min_jaccard: float = 0.0,
    k: int | None = None,
    block_entries: int = 1 << 24,
) -> sp.csr_matrix:
    """Images linked by how much their label sets overlap; with `k`, only each image's k best.

    Jaccard only depends on the label sets (labels outside `labels` ignored), and corpora
    have far fewer distinct sets U than images n, so images are grouped by set and the k
    best are found once per set (see `_top_k_by_set`): U x U overlaps, never n x n, a
    block of query sets at a time (block x sets searched <= `block_entries`), memory
    O(U k + n k) whatever the label frequencies. Each image's k best are the other images
    ranked by (Jaccard desc, image index asc): ties at the k-th place go to the earlier
    image. Images of one set share Jaccard 1; an empty set links to nobody. Without `k`
    (or with k >= n - 1) every overlapping pair is kept, image by image (block x n entries
    at most `block_entries`), which is for small graphs only.
    """
    nb, jac = label_lists(label_sets, labels, k, block_entries)
    return label_adjacency(nb, jac, min_jaccard)


def label_groups(label_sets: list[list[str]], labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each image's distinct set (numbered by first image, labels outside `labels` ignored) and the
    sets' U x labels float32 indicator."""
    known = set(labels)
    lists: dict[tuple, int] = {}  # each distinct list once, first image first: tuples hash cheaply
    kind = np.fromiter((lists.setdefault(tuple(s), len(lists)) for s in label_sets), np.int64, len(label_sets))
    group_of: dict[frozenset, int] = {}  # set -> id, in order of first image: ids order sets by earliest image
    group_of_list = np.fromiter(
        (group_of.setdefault(frozenset(lab for lab in s if lab in known), len(group_of)) for s in lists),
        dtype=np.int64,
        count=len(lists),
    )
    group = group_of_list[kind] if len(kind) else kind
    column = {lab: j for j, lab in enumerate(labels)}
    x = np.zeros((len(group_of), len(labels)), dtype=np.float32)  # a few thousand sets: a loop is quickest
    for row, labs in enumerate(group_of):
        x[row, [column[lab] for lab in labs]] = 1.0
    return group, x


def pair_jaccard(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard of the sets x[a] and x[b] (indicator rows), as the searches compute it: int / int in float64."""
    inter = np.einsum("ij,ij->i", x[a], x[b]).astype(np.int64)  # small integers: exact in float32
    union = x[a].sum(axis=1).astype(np.int64) + x[b].sum(axis=1).astype(np.int64) - inter
    return np.divide(inter, union, out=np.zeros(len(inter)), where=union > 0)


def label_lists(
    label_sets: list[list[str]], labels: list[str], k: int | None, block_entries: int = 1 << 24
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's best min(k, n - 1) others with a positive Jaccard, ranked (neighbour_lists.py),
    with their float64 Jaccard: the lists `label_jaccard_graph` is made of."""
    n = len(label_sets)
    keep_k = max(0, n - 1 if k is None else min(k, n - 1))
    if n == 0 or keep_k == 0:
        return np.full((n, 0), PAD, dtype=np.int64), np.full((n, 0), -np.inf)
    group, x = label_groups(label_sets, labels)
    if keep_k >= n - 1:
        pairs = _all_overlapping_pairs(x[group], 0.0, block_entries).tocoo()
        rows, cols = pairs.row.astype(np.int64), pairs.col.astype(np.int64)
    else:
        rows, cols, _ = _top_k_by_set(x, group, keep_k, block_entries)
    jac = pair_jaccard(x, group[rows], group[cols])
    ok = jac > 0
    return padded(n, rows[ok], cols[ok], jac[ok], keep_k)


def label_adjacency(nb: np.ndarray, jac: np.ndarray, min_jaccard: float = 0.0) -> sp.csr_matrix:
    """The symmetric Jaccard graph of label lists; weights are the float32 Jaccard, as the search keeps them."""
    rows, cols, values = flat(nb, jac)
    weights = values.astype(np.float32)
    ok = (weights > 0) & (weights >= min_jaccard)
    return symmetric_max(nb.shape[0], rows[ok], cols[ok], weights[ok].astype(np.float64))


_EXACT_FLOAT32_INT = 1 << 24  # float32 adds integers exactly while every partial sum stays within +-2^24


def _top_k_by_set(
    x: np.ndarray, group: np.ndarray, k: int, block_entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every image's k best others by (Jaccard desc, index asc), computed once per distinct set.

    x: U x labels indicator of the distinct sets, group: each image's set (ids in order of
    first image), k < n - 1. For each non-empty set u the r = k + 1 best images of all n
    (its own images included, at Jaccard 1) are found; an image of u takes them minus
    itself, or the first k when it is not among them. Those r images lie among the first
    min(size, r) images of the r best sets by (Jaccard desc, set id asc): every set above
    the r-th image's Jaccard t holds fewer than r images, and the earliest images at t
    belong to the earliest sets at t.

    The r best sets come from faiss's flat inner-product search (BLAS blocks, a heap per
    query), one search per set size s: against sets of one size Jaccard c / (|u| + s - c)
    only grows with the overlap c, so sets of size s are scored c * m - (their rank among
    the m searched), which orders them by (overlap desc, id asc). Scores and all partial
    sums are integers below 2^24, exact in float32 whatever the summation order, so there
    are no ties for faiss to break its own way. Queries go `block_entries // m` at a time
    (faiss multiplies in tiles of at most 4096 x 1024 within that), which also bounds the
    candidate arrays. Returns (rows, cols, float32 Jaccard), k per image of a non-empty set.
    """
    n, n_sets = len(group), x.shape[0]
    r = k + 1
    sizes = x.sum(axis=1).astype(np.int64)
    counts = np.bincount(group, minlength=n_sets)
    members = np.argsort(group, kind="stable")  # images by set, ascending within each
    starts = np.cumsum(counts) - counts
    width = int(min(r, counts.max()))
    slot = np.arange(width)
    # first[v, j]: the j-th image of set v, n where the set has fewer
    first = np.where(slot < counts[:, None], members[np.minimum(starts[:, None] + slot, n - 1)], n)
    active = np.flatnonzero(sizes > 0)
    if len(active) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    pieces = []  # (set ids, database rows) per size, split so that every score stays below 2^24
    for s in np.unique(sizes[active]):
        same_size = np.flatnonzero(sizes == s)
        cap = max(1, _EXACT_FLOAT32_INT // (int(s) + 1) - 1)
        for p0 in range(0, len(same_size), cap):
            ids = same_size[p0 : p0 + cap]
            base = np.hstack([x[ids] * len(ids), -np.arange(len(ids), dtype=np.float32)[:, None]])
            pieces.append((ids, np.ascontiguousarray(base, dtype=np.float32)))
    n_found = sum(min(r, len(ids)) for ids, _ in pieces)
    n_top = min(r, n_found)
    block = max(1, block_entries // max(max(len(ids) for ids, _ in pieces), n_found, n_top * width))
    queries = np.hstack([x, np.ones((n_sets, 1), dtype=np.float32)])
    best = np.empty((len(active), r), dtype=np.int64)
    best_jac = np.empty((len(active), r), dtype=np.float64)
    for start in range(0, len(active), block):
        sets = active[start : start + block]
        q = np.ascontiguousarray(queries[sets])
        found, found_jac = [], []
        for ids, base in pieces:
            score, local = faiss.knn(q, base, min(r, len(ids)), metric=faiss.METRIC_INNER_PRODUCT)
            inter = (score.astype(np.int64) + local) // len(ids)
            found.append(ids[local])
            found_jac.append(inter / (sizes[sets, None] + sizes[ids[local]] - inter))
        found, found_jac = np.hstack(found), np.hstack(found_jac)
        top = np.lexsort((found, -found_jac), axis=1)[:, :n_top]
        cand = first[np.take_along_axis(found, top, axis=1)].reshape(len(sets), -1)
        cand_jac = np.where(cand < n, np.repeat(np.take_along_axis(found_jac, top, axis=1), width, axis=1), -1.0)
        if cand.shape[1] < r:  # fewer images in non-empty sets than r: pad with nobodies
            pad = r - cand.shape[1]
            cand = np.hstack([cand, np.full((len(sets), pad), n)])
            cand_jac = np.hstack([cand_jac, np.full((len(sets), pad), -1.0)])
        order = np.lexsort((cand, -cand_jac), axis=1)[:, :r]
        best[start : start + block] = np.take_along_axis(cand, order, axis=1)
        best_jac[start : start + block] = np.take_along_axis(cand_jac, order, axis=1)
    row_of = np.full(n_sets, -1)
    row_of[active] = np.arange(len(active))
    images = np.flatnonzero(row_of[group] >= 0)
    lists, jacs = best[row_of[group[images]]], best_jac[row_of[group[images]]]
    drop = lists == images[:, None]
    drop[~drop.any(axis=1), r - 1] = True  # not among its set's r best: keep the first k
    # float64 division rounded to float32 equals float32 division (innocuous double rounding)
    return np.repeat(images, k), lists[~drop], jacs[~drop].astype(np.float32)


def _all_overlapping_pairs(x: np.ndarray, min_jaccard: float, block_entries: int) -> sp.csr_matrix:
    """Every pair of images whose sets overlap (x: images x labels), a block of rows at a time."""
    n = x.shape[0]
    sizes = x.sum(axis=1)
    block = max(1, block_entries // n)
    rows, cols, vals = [], [], []
    for start in range(0, n, block):
        inter = x[start : start + block] @ x.T
        union = sizes[start : start + block, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        block_rows = np.arange(jac.shape[0])
        jac[block_rows, start + block_rows] = 0.0
        ok = (jac > 0) & (jac >= min_jaccard)
        i, j = np.nonzero(ok)
        rows.append(start + i)
        cols.append(j)
        vals.append(jac[i, j])
    adj = sp.csr_matrix(
        (np.concatenate(vals).astype(np.float64), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return adj.maximum(adj.T).tocsr()


def combine_graphs(weighted: list[tuple[sp.csr_matrix, float]]) -> sp.csr_matrix:
    """Weighted average of graphs on the same nodes, so edge weights keep the inputs' scale."""
    if not weighted:
        raise ValueError("combine_graphs needs at least one graph")
    total = sum(weight for _, weight in weighted)
    if total <= 0:
        raise ValueError(f"graph weights must sum to a positive number, got {total}")
    combined = sum(sp.csr_matrix(adj, dtype=np.float64) * weight for adj, weight in weighted) / total
    combined = sp.csr_matrix(combined)
    combined.eliminate_zeros()
    return combined
