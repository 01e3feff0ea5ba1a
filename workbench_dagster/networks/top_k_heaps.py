"""Compiled top-k heaps fed straight from blocks of a symmetric similarity matrix.

Kept apart from `neighbours` so that numba (a fifth of a second to import, and a one-off
compile cached in __pycache__) is only loaded by the steps that search for neighbours.
Each heap row holds a row's best (similarity, index) pairs as a min-heap whose root is
the worst one kept; "better" means a higher similarity or, at equal similarity, a lower
index, so ties at the k-th place go to the earlier item whatever order the blocks
arrive in.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True, inline="always")
def _worse(v1: float, j1: int, v2: float, j2: int) -> bool:
    return v1 < v2 or (v1 == v2 and j1 > j2)


@numba.njit(nogil=True, cache=True, inline="always")
def _replace_root(vals, ids, row, v, j) -> None:
    """Put (v, j) in place of the row's worst entry and sift it down to its place."""
    row_vals, row_ids = vals[row], ids[row]
    k = row_vals.shape[0]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= k:
            break
        if child + 1 < k and _worse(row_vals[child + 1], row_ids[child + 1], row_vals[child], row_ids[child]):
            child += 1
        if not _worse(row_vals[child], row_ids[child], v, j):
            break
        row_vals[i], row_ids[i] = row_vals[child], row_ids[child]
        i = child
    row_vals[i], row_ids[i] = v, j


@numba.njit(nogil=True, cache=True)
def feed_block(sims, row0, col0, vals, ids, mirror) -> None:
    """Offer block sims = x[row0:] @ x[col0:].T to the heaps of its rows and, with `mirror`, of its columns.

    One pass in memory order serves both sides, so the lower triangle of the similarity
    matrix is neither computed nor transposed. Most entries lose to both roots; a plain
    float comparison against the roots (the columns' copied into a contiguous array)
    turns them away before the full (similarity, index) test. With `mirror` the row and
    column ranges must not overlap, so that no heap is both a row's and a column's.
    """
    col_root = vals[col0 : col0 + sims.shape[1], 0].copy()
    for r in range(sims.shape[0]):
        row = row0 + r
        row_root = vals[row, 0]
        for c in range(sims.shape[1]):
            v = sims[r, c]
            if v >= row_root and _worse(row_root, ids[row, 0], v, col0 + c):
                _replace_root(vals, ids, row, v, col0 + c)
                row_root = vals[row, 0]
            if mirror and v >= col_root[c] and _worse(col_root[c], ids[col0 + c, 0], v, row):
                _replace_root(vals, ids, col0 + c, v, row)
                col_root[c] = vals[col0 + c, 0]


@numba.njit(nogil=True, cache=True)
def merge_heaps(vals, ids, other_vals, other_ids) -> None:
    """Offer every entry of `other` to the heap of the same row."""
    for row in range(vals.shape[0]):
        for e in range(other_vals.shape[1]):
            v, j = other_vals[row, e], other_ids[row, e]
            if _worse(vals[row, 0], ids[row, 0], v, j):
                _replace_root(vals, ids, row, v, j)


def empty_heaps(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Heaps of n rows whose k placeholders lose to any real entry (similarity -inf, index past the end)."""
    return np.full((n, k), -np.inf, dtype=np.float32), np.full((n, k), n, dtype=np.int64)


@numba.njit(nogil=True, cache=True)
def canonical_round(products, left, right, scale) -> np.ndarray:
    """float32 of round(left @ right.T, decimals) from a float64 BLAS block, the same wherever the pair sat.

    BLAS sums an inner product in an order that depends on the pair's position in its tiles,
    so the same pair can differ between a full search and an incremental one: any float64
    sum of d products of unit rows is within d * 1.1e-16 of the exact value (4e-14 for
    d = 384). Rounding to `decimals` (scale = 10^decimals) hides that except within
    max(10^-12, d * 10^-15), over twice that bound, of a rounding boundary, a few pairs in a
    million: those are summed again here in index order from the float32 rows, whose
    products float64 holds exactly, so every pair gets one value whatever search computed
    it. Values are then stored in float32 like the heaps compare them.
    """
    out = np.empty(products.shape, dtype=np.float32)
    margin = max(1e-12, left.shape[1] * 1e-15) * scale
    for r in range(products.shape[0]):
        for c in range(products.shape[1]):
            y = products[r, c] * scale
            if abs(y - np.floor(y) - 0.5) < margin:
                total = 0.0
                for e in range(left.shape[1]):
                    total += np.float64(left[r, e]) * np.float64(right[c, e])
                y = total * scale
            out[r, c] = np.rint(y) / scale
    return out


@numba.njit(nogil=True, cache=True)
def row_hashes(words, keys) -> np.ndarray:
    """Two 64-bit multilinear hashes per row of a uint32 matrix (sum of word * odd key mod 2^64, one key
    per column and hash), for telling whether a node's vector changed between builds. A changed word
    always changes both sums (an odd key is invertible mod 2^64); the terms are independent, so the
    loop vectorises, where a chained hash waits on each multiply (3x slower at 384 columns). The word
    of float32 -0.0 counts as that of 0.0: the same number, and no copy of the matrix to make it so."""
    out = np.empty((words.shape[0], 2), dtype=np.uint64)
    negative_zero = np.uint32(0x80000000)
    for r in range(words.shape[0]):
        h1, h2 = np.uint64(0), np.uint64(0)
        for c in range(words.shape[1]):
            w = np.uint64(0) if words[r, c] == negative_zero else np.uint64(words[r, c])
            h1 += w * keys[0, c]
            h2 += w * keys[1, c]
        out[r, 0], out[r, 1] = h1, h2
    return out


@numba.njit(nogil=True, cache=True)
def canonical_pairs(left, right, rows, cols, scale) -> np.ndarray:
    """canonical_round's value of the pairs (left[rows[i]], right[cols[i]]), from their index-order sums.

    canonical_round keeps a BLAS sum unless it lies within its margin of a rounding boundary,
    and there uses this same index-order sum. Two float64 sums of the same d exact products
    differ by at most 2 d 1.1e-16 (scaled: under a quarter of that margin), so away from a
    boundary both round to the same value: the index-order sum gives canonical_round's
    value for every pair, wherever the full search summed it.
    """
    out = np.empty(len(rows), dtype=np.float32)
    for i in range(len(rows)):
        a, b = left[rows[i]], right[cols[i]]
        total = 0.0
        for e in range(a.shape[0]):
            total += np.float64(a[e]) * np.float64(b[e])
        out[i] = np.rint(total * scale) / scale
    return out


@numba.njit(nogil=True, cache=True)
def _width_th_best(values, skip, width) -> float:
    """The width-th largest of `values` leaving out position `skip` (-inf when fewer): a min-heap of
    `width` values, which most entries pass by after one comparison with its root."""
    heap = np.full(width, -np.inf)
    for j in range(values.shape[0]):
        v = np.float64(values[j])
        if j == skip or v <= heap[0]:
            continue
        i = 0  # replace the root, sift down
        while True:
            child = 2 * i + 1
            if child >= width:
                break
            if child + 1 < width and heap[child + 1] < heap[child]:
                child += 1
            if heap[child] >= v:
                break
            heap[i] = heap[child]
            i = child
        heap[i] = v
    return heap[0]


@numba.njit(nogil=True, cache=True)
def screen_candidates(approx, skip, width, slack, col_floor) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the entries of `approx` at least their row's width-th best minus `slack`, or at
    least their column's `col_floor`, leaving out column skip[row] of each row; row-major."""
    m, n = approx.shape
    tops = np.empty(m)
    count = 0
    for r in range(m):
        tops[r] = _width_th_best(approx[r], skip[r], width) - slack if width > 0 else np.inf
        for c in range(n):
            v = np.float64(approx[r, c])
            count += c != skip[r] and (v >= tops[r] or v >= col_floor[c])
    rows, cols = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
    at = 0
    for r in range(m):
        for c in range(n):
            v = np.float64(approx[r, c])
            if c != skip[r] and (v >= tops[r] or v >= col_floor[c]):
                rows[at], cols[at] = r, c
                at += 1
    return rows, cols
