"""Compiled passes of the edge table (edge_rows.py): the union of the layers' upper triangles, and
every variant's rows written straight into the table's float block.

Kept apart from edge_rows.py so that numba is imported by the steps that build a table only.
The arithmetic is the one numpy's vector operations do, in the same order and without fused
multiply-adds (numba contracts nothing unless asked for fastmath), so the floats are the same.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def upper_union(indptr, indices, data, n):
    """Pairs (i, j), i < j, that any layer holds, row-major, and each layer's value on them (0.0 where it
    has none). Layer L's row i is indices[indptr[L, i]:indptr[L, i + 1]] (sorted, no repeats), and data."""
    layers = indptr.shape[0]
    bound = 0
    for layer in range(layers):
        bound += indptr[layer, n] - indptr[layer, 0]
    rows, cols = np.empty(bound, dtype=np.int64), np.empty(bound, dtype=np.int64)
    values = np.empty((layers, bound))  # pages past the union's size are never touched
    at = np.empty(layers, dtype=np.int64)
    end = np.empty(layers, dtype=np.int64)
    count = 0
    for i in range(n):
        for layer in range(layers):
            p, stop = indptr[layer, i], indptr[layer, i + 1]
            while p < stop and indices[p] <= i:
                p += 1
            at[layer], end[layer] = p, stop
        while True:
            j = n
            for layer in range(layers):
                if at[layer] < end[layer] and indices[at[layer]] < j:
                    j = indices[at[layer]]
            if j == n:
                break
            rows[count], cols[count] = i, j
            for layer in range(layers):
                values[layer, count] = 0.0
                if at[layer] < end[layer] and indices[at[layer]] == j:
                    values[layer, count] = data[at[layer]]
                    at[layer] += 1
            count += 1
    return rows[:count], cols[:count], np.ascontiguousarray(values[:, :count])


@numba.njit(nogil=True, cache=True)
def variant_weights(values, used, weights, scales):
    """Each variant's weight on every union entry, 0.0 where the entry is not its edge, and its edge count.

    numpy's steps, each in one loop: 0 + v0 * w0, then + vk * wk for the variant's other layers in
    order (used[v], -1 padded), then * (1 / total) (scales[v]), then maximum(., 0) and minimum(., 1);
    an entry is an edge when the average and the clipped weight are both nonzero."""
    n_entries = values.shape[1]
    out = np.empty((used.shape[0], n_entries))
    counts = np.zeros(used.shape[0], dtype=np.int64)
    for v in range(used.shape[0]):
        row = out[v]
        first, w = used[v, 0], weights[v, 0]
        for e in range(n_entries):
            row[e] = 0.0 + values[first, e] * w
        for u in range(1, used.shape[1]):
            layer, w = used[v, u], weights[v, u]
            if layer < 0:
                break
            for e in range(n_entries):
                row[e] = row[e] + values[layer, e] * w
        scale = scales[v]
        for e in range(n_entries):
            total = row[e] * scale
            weight = min(max(total, 0.0), 1.0) if total != 0.0 else 0.0
            row[e] = weight
            counts[v] += weight != 0.0
    return out, counts


@numba.njit(nogil=True, cache=True)
def variant_rows(values, rows, cols, weights, columns, block, sources, targets):
    """Write every variant's edges (weights[v] != 0), variant after variant, from row 0: the weight into
    block[0], layer L's value into block[1 + columns[v, L]] where the variant shows layer L
    (columns[v, L] >= 0; the rest of the block stays as the caller set it), and the pair's indices.
    Returns the rows written."""
    at = 0
    for v in range(weights.shape[0]):
        for e in range(weights.shape[1]):
            w = weights[v, e]
            if w == 0.0:
                continue
            block[0, at] = w
            for layer in range(values.shape[0]):
                if columns[v, layer] >= 0:
                    block[1 + columns[v, layer], at] = values[layer, e]
            sources[at], targets[at] = rows[e], cols[e]
            at += 1
    return at
