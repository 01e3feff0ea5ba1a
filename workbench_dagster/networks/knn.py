"""Nearest neighbours by cosine for similarity graphs: exact up to tens of thousands of items, approximate beyond.

Inputs are unit rows, so inner products are cosines. The exact search never holds the
n x n similarity matrix, only one block of it per worker, and breaks ties at the k-th
place by index so that a graph does not depend on thread timing or BLAS tiling.

Cosines are rounded to SIMILARITY_DECIMALS before they are ranked or compared with a
threshold: vectors re-embedded with rounding noise of 1e-7 then rank the same except where a
cosine sits within that noise of a rounding boundary, and near-equal cosines tie and go to
the earlier row instead of to the noise.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

PRODUCT_BLOCK = 384  # rows per side of one similarity block: 576 KB of float32, inside a core's L2
EXPAND_ENTRIES = 1 << 22  # twins: (distinct vector, candidate row) pairs ranked at a time
SCREEN_ENTRIES = 1 << 22  # new-against-all products screened at a time (16 MB of float32)
_ONE_SEARCH_AT_A_TIME = threading.Lock()
SIMILARITY_DECIMALS = 6  # cosines are ranked and thresholded at this many decimals (see the module docstring)


def exact_neighbours(unit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k most similar other rows of every row, exactly, ties at the k-th place going to the earlier row.

    Identical rows (templated captions give many) are searched once: a BLAS product rounds
    the same pair of values differently at different positions of its tiles, so twins
    would otherwise be ranked by that rounding noise instead of by index. Each distinct
    vector's k + 1 best distinct vectors are expanded into their member rows and ranked by
    (similarity, index); k + 1 because the row itself is dropped afterwards.
    Returns (rows, cols, similarities), k per row.
    """
    unit = np.ascontiguousarray(unit, dtype=np.float32)  # the heaps compare in float32
    n = unit.shape[0]
    k = min(k, n - 1)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    group, firsts = identical_rows(unit)
    decimals = SIMILARITY_DECIMALS
    if len(firsts) == n:
        sims, found = symmetric_top(unit, k + 1, decimals=decimals)
    else:
        top = symmetric_top(unit[firsts], min(k + 1, len(firsts)), decimals=decimals)
        sims, found = _expand_twins(*top, group, k + 1)
    others = found != np.arange(n)[:, None]
    others &= np.cumsum(others, axis=1) <= k  # the first k that are not the row itself
    return np.repeat(np.arange(n), k), found[others], sims[others]


def identical_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group of identical rows, groups numbered by first appearance, and each group's first row.

    Rows are compared as bytes after adding 0.0, which turns -0.0 into 0.0: the two are
    the same number, and a twin must not escape its group over the sign of a zero.
    """
    first_of: dict[bytes, int] = {}
    rows = np.asarray(x) + 0.0
    group = np.fromiter(
        (first_of.setdefault(row.tobytes(), len(first_of)) for row in rows), dtype=np.int64, count=len(rows)
    )
    firsts = np.full(len(first_of), len(rows), dtype=np.int64)
    np.minimum.at(firsts, group, np.arange(len(rows)))
    return group, firsts


def _expand_twins(
    sims: np.ndarray, found: np.ndarray, group: np.ndarray, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows' `keep` best (similarity, row) from their distinct vector's best distinct vectors.

    Groups are numbered by their first row, so the distinct search's index tie-break is
    already the rows' one at the group level. At most `keep` rows of a group can be needed,
    and never more than the largest group has; the candidates are ranked EXPAND_ENTRIES at
    a time, so a large k with one pair of twins does not need m x k^2 memory at once.
    """
    n, m = len(group), len(sims)
    by_group = np.argsort(group, kind="stable")  # rows by group, then by index
    sizes = np.bincount(group, minlength=m)
    width = int(min(keep, sizes.max()))
    rank = np.arange(n) - (np.cumsum(sizes) - sizes)[group[by_group]]
    members = np.full((m, width), n, dtype=np.int64)  # n: no such member
    fits = rank < width
    members[group[by_group][fits], rank[fits]] = by_group[fits]
    best_scores, best_rows = np.empty((m, keep), dtype=np.float32), np.empty((m, keep), dtype=np.int64)
    step = max(1, EXPAND_ENTRIES // (found.shape[1] * width))
    for start in range(0, m, step):
        part = slice(start, start + step)
        rows = members[found[part]].reshape(len(found[part]), -1)
        scores = np.where(rows < n, np.repeat(sims[part], width, axis=1), -np.inf).astype(np.float32)
        scores, rows = best_first(scores, rows)
        best_scores[part], best_rows[part] = scores[:, :keep], rows[:, :keep]
    return best_scores[group], best_rows[group]


def canonical_similarities(left: np.ndarray, right: np.ndarray, decimals: int = SIMILARITY_DECIMALS) -> np.ndarray:
    """Rounded inner products of unit rows `left` with unit rows `right`, exactly as `symmetric_top` ranks them."""
    from workbench_dagster.networks.top_k_heaps import canonical_round

    left = np.ascontiguousarray(left, dtype=np.float32)
    right = np.ascontiguousarray(right, dtype=np.float32)
    wide = right.astype(np.float64)
    out = np.empty((len(left), len(right)), dtype=np.float32)
    for start in range(0, len(left), PRODUCT_BLOCK):
        part = left[start : start + PRODUCT_BLOCK]
        out[start : start + len(part)] = canonical_round(
            part.astype(np.float64) @ wide.T, part, right, 10.0**decimals
        )
    return out


def screening_margin(dim: int, decimals: int = SIMILARITY_DECIMALS) -> float:
    """How far a float32 BLAS product of unit rows can sit from the canonical similarity of the pair.

    Any float32 sum of d products is within gamma_d = d u / (1 - d u) (u = 2^-24) of the exact
    inner product times sum |a_e b_e| <= |a| |b| (1.01 covers unit rows' norms); the canonical
    value adds half a rounding step, the float64 sum's error and float32 storage (1e-7).
    """
    u = 2.0**-24
    gamma = dim * u / (1 - dim * u)
    return 1.01 * gamma + 0.5 * 10.0**-decimals + 1e-7


def screened_similarities(
    unit: np.ndarray, rows: np.ndarray, width: int, floor: np.ndarray, decimals: int = SIMILARITY_DECIMALS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of unit[rows] against all rows that can enter a list, with their canonical similarity.

    An entry can enter when it can be among its row's `width` best others (row i's own column
    left out) or reach the column's `floor` (the worst score an old node's list keeps; +inf for
    none, -inf when every entry counts). A float32 product screens: with m the screening
    margin, a row has `width` entries of at least t (its width-th best float32), so its
    width-th best canonical value is at least t - m, and an entry below t - 2m in float32 is
    below that canonically: it cannot enter, not even as a tie. Likewise below floor - 2m.
    The survivors get the value canonical_similarities gives them (canonical_pairs), so lists
    grown from them are the ones grown from canonical_similarities of all pairs, bit for bit, at
    a float32 product and a few exact sums instead of a float64 product.
    Returns (index into rows, column, float32 similarity), row-major.
    """
    from workbench_dagster.networks.top_k_heaps import canonical_pairs, screen_candidates

    unit = np.ascontiguousarray(unit, dtype=np.float32)
    rows = np.asarray(rows, dtype=np.int64)
    slack = 2 * screening_margin(unit.shape[1], decimals)  # compared in float64: float32 values exactly
    col_floor = np.asarray(floor, dtype=np.float64) - slack
    step = max(1, SCREEN_ENTRIES // max(1, len(unit)))
    parts = []
    for start in range(0, len(rows), step):
        left = unit[rows[start : start + step]]
        r, c = screen_candidates(left @ unit.T, rows[start : start + step], width, slack, col_floor)
        parts.append((start + r, c, canonical_pairs(left, unit, r, c, 10.0**decimals)))
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return tuple(np.concatenate(column) for column in zip(*parts))


def best_first(sims: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's entries ordered by similarity, highest first, then by index."""
    order = np.lexsort((ids, -sims), axis=1)
    return np.take_along_axis(sims, order, axis=1), np.take_along_axis(ids, order, axis=1)


def symmetric_top(
    unit: np.ndarray,
    want: int,
    block: int = PRODUCT_BLOCK,
    workers: int | None = None,
    decimals: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `want` largest inner products with all rows (itself included), best first, then by index.

    The similarity matrix is symmetric, so only its blocks on and above the diagonal are
    multiplied: block (I, J) feeds the heaps of rows I through its rows and those of rows J
    through its columns in one pass (`top_k_heaps.feed_block`), about half the arithmetic
    of a query-against-all search such as faiss.knn. Workers share the blocks, each with
    single-threaded BLAS and heaps of its own, merged at the end; numba's kernels and
    numpy's product both release the GIL. Equal products are ranked by index; identical
    vectors do not always get equal products (BLAS rounds by tile position), which is why
    `exact_neighbours` groups them first. With `decimals`, products are computed in float64
    and rounded before they are ranked (`top_k_heaps.canonical_round`), so a pair has the
    same similarity whatever block it sat in, and an incremental search of new rows against
    all (`canonical_similarities`) agrees with this one bit for bit. Calls in one process take turns: the BLAS thread
    limit is process-wide, and overlapping calls would restore it out of order.
    Returns (similarities, indices), each n x want.
    """
    from workbench_dagster.networks.top_k_heaps import canonical_round, empty_heaps, feed_block, merge_heaps

    unit = np.ascontiguousarray(unit, dtype=np.float32)
    wide = unit.astype(np.float64) if decimals is not None else unit  # see top_k_heaps.canonical_round
    scale = 10.0**decimals if decimals is not None else 1.0
    n = unit.shape[0]
    starts = range(0, n, block)
    pairs = [(a, b) for a in starts for b in starts if b > a] + [
        (a, a) for a in starts
    ]  # diagonal (half work) last
    tasks: queue.SimpleQueue = queue.SimpleQueue()
    for pair in pairs:
        tasks.put(pair)
    failed = threading.Event()
    workers = max(1, min(workers or _usable_cores(), len(pairs)))
    heaps = [empty_heaps(n, want) for _ in range(workers)]

    def work(heap: tuple[np.ndarray, np.ndarray]) -> None:
        try:
            while not failed.is_set():
                try:
                    a, b = tasks.get_nowait()
                except queue.Empty:
                    return
                if decimals is None:
                    products = unit[a : a + block] @ unit[b : b + block].T
                else:
                    products = canonical_round(
                        wide[a : a + block] @ wide[b : b + block].T,
                        unit[a : a + block],
                        unit[b : b + block],
                        scale,
                    )
                feed_block(products, a, b, *heap, b != a)
        except BaseException:
            failed.set()  # the other workers stop at their next block
            raise

    with (
        _ONE_SEARCH_AT_A_TIME,
        _blas_threads().limit(limits=1, user_api="blas"),
        ThreadPoolExecutor(workers) as pool,
    ):
        list(pool.map(work, heaps))  # list() re-raises a worker's exception here
    vals, ids = heaps[0]
    for other in heaps[1:]:
        merge_heaps(vals, ids, *other)
    return best_first(vals, ids)


@cache
def _blas_threads() -> ThreadpoolController:
    """Finding the loaded BLAS libraries takes milliseconds; the controller remembers them."""
    return ThreadpoolController()


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def approximate_neighbours(
    unit: np.ndarray, k: int, seed: int, probes: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k approximate nearest neighbours per row (self excluded) from a faiss inverted-file index.

    About 2 sqrt(n) k-means cells; each query scans its `probes` nearest cells, so the work
    is about n * probes * sqrt(n) / 2 dot products instead of n^2. Inner products of unit
    vectors are cosines, and a flat (uncompressed) index returns them exactly for the pairs
    it finds, rounded to SIMILARITY_DECIMALS like the exact search's.
    Returns (rows, cols, similarities).
    """
    n, dim = unit.shape
    cells = max(1, int(2 * np.sqrt(n)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, cells, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)
    sample = np.random.default_rng(seed).choice(n, min(n, 40 * cells), replace=False)
    unit = np.ascontiguousarray(unit, dtype=np.float32)
    index.train(unit[np.sort(sample)])
    index.add(unit)
    index.nprobe = min(cells, probes)
    sims, indices = index.search(unit, k + 1)
    rows = np.repeat(np.arange(n), indices.shape[1])
    cols = indices.ravel().astype(np.int64)
    valid = (cols >= 0) & (cols != rows)
    return rows[valid], cols[valid], np.round(sims.ravel()[valid], SIMILARITY_DECIMALS)
