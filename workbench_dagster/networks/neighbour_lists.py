"""Neighbour lists as padded arrays: row i's best neighbours, best first, -1 where it has fewer.

The similarity layers are built from such lists (each node's k best, then symmetrised), and
the incremental build (incremental.py) keeps them between runs and merges new candidates
into them. One ordering serves both, the one the full searches use: higher score first, and
at equal score the lower node index, so the lists are a function of the scores alone.
"""

from __future__ import annotations

import numpy as np

PAD = -1


def padded(
    n: int, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lists from (row, col, score) triples: each row's best `width`, ranked."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    scores = np.asarray(scores)
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    counts = np.bincount(rows, minlength=n)
    rank = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    fits = rank < width
    nb = np.full((n, width), PAD, dtype=np.int64)
    sc = np.full((n, width), -np.inf, dtype=scores.dtype if len(scores) else np.float64)
    nb[rows[fits], rank[fits]] = cols[fits]
    sc[rows[fits], rank[fits]] = scores[fits]
    return nb, sc


def flat(nb: np.ndarray, sc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lists' entries as (rows, cols, scores), row by row, best first."""
    valid = nb != PAD
    rows = np.repeat(np.arange(nb.shape[0]), nb.shape[1]).reshape(nb.shape)
    return rows[valid], nb[valid], sc[valid]


def best_of(nb: np.ndarray, sc: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `width` best entries by (score desc, index asc), padding last."""
    key = np.where(nb == PAD, np.iinfo(np.int64).max, nb)
    order = np.lexsort((key, -sc), axis=1)[:, :width]
    return np.take_along_axis(nb, order, axis=1), np.take_along_axis(sc, order, axis=1)


def merged(
    old_nb: np.ndarray, old_sc: np.ndarray, new_nb: np.ndarray, new_sc: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise best `width` of two sets of lists on the same rows and node numbering.

    The best k of A and B together are the best k of (the best k of A) and B, so merging a
    node's old list with its scores against new nodes gives the list a full search over all
    nodes would give, ties included, as long as every score is the one that search computes.
    """
    nb = np.hstack([old_nb, new_nb])
    sc = np.hstack([old_sc.astype(new_sc.dtype, copy=False), new_sc])
    out_nb, out_sc = best_of(nb, sc, width)
    if out_nb.shape[1] < width:  # fewer candidates than places: pad
        pad = width - out_nb.shape[1]
        out_nb = np.hstack([out_nb, np.full((len(nb), pad), PAD, dtype=np.int64)])
        out_sc = np.hstack([out_sc, np.full((len(nb), pad), -np.inf, dtype=out_sc.dtype)])
    return out_nb, out_sc
