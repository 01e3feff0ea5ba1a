"""Label-overlap graph: label_jaccard_graph (images grouped by label set) against the old dense version.

    python benchmarks/label_graph.py              # n=5,000 side by side (two corpora), then n=100,000, k=10
    python benchmarks/label_graph.py --small      # the side-by-side part only
    python benchmarks/label_graph.py --old-too    # also the old version at n=100,000 (minutes)

The old version compared every image with every image (block x n Jaccards, an argpartition
per row): O(n^2). The new one groups images by label set, finds each set's k + 1 best once,
and gives an image its set's list minus itself; the outputs must be the same matrix, bit for
bit. The realistic corpus: 30 labels, 2-6 per image, popularity falling as 1 / rank. The
worst case for grouping: 40 labels, 3-11 per image, uniform, so nearly every set is distinct.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import MultiLabelBinarizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workbench_dagster.networks.similarity import label_jaccard_graph

K = 10
REPEATS = 5
OLD_REPEATS = 3


def corpus(n: int, seed: int, n_labels: int = 30, sizes=(2, 6), skew: float = 1.0) -> tuple[list, list]:
    """Label sets drawn without replacement, label i with weight 1 / (i + 1)^skew (Gumbel top-s)."""
    rng = np.random.default_rng(seed)
    labels = [f"label{i:02d}" for i in range(n_labels)]
    keys = -skew * np.log(np.arange(1, n_labels + 1)) + rng.gumbel(size=(n, n_labels))
    ranked = np.argsort(-keys, axis=1)
    counts = rng.integers(sizes[0], sizes[1] + 1, n)
    return [[labels[j] for j in row[:c]] for row, c in zip(ranked, counts)], labels


def dense_label_jaccard(label_sets, labels, min_jaccard=0.0, k=None, block_entries=1 << 24):
    """label_jaccard_graph before this change, verbatim: every image against every image."""
    known = set(labels)
    binarizer = MultiLabelBinarizer(classes=list(labels), sparse_output=True)
    n = len(label_sets)
    if n == 0:
        return sp.csr_matrix((0, 0), dtype=np.float64)
    x = (
        binarizer.fit_transform([[lab for lab in s if lab in known] for s in label_sets])
        .astype(np.float32)
        .toarray()
    )
    sizes = x.sum(axis=1)
    keep_k = n - 1 if k is None else min(k, n - 1)
    if keep_k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    block = max(1, block_entries // n)
    rows, cols, vals = [], [], []
    for start in range(0, n, block):
        inter = x[start : start + block] @ x.T
        union = sizes[start : start + block, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        block_rows = np.arange(jac.shape[0])
        jac[block_rows, start + block_rows] = 0.0
        if keep_k < n - 1:
            # Jaccard values differ by at least 1/labels^2, so a 1e-7 nudge only breaks ties (earlier image first)
            key = jac - (np.arange(n, dtype=np.float64) / n * 1e-7)[None, :]
            top = np.argpartition(-key, keep_k - 1, axis=1)[:, :keep_k]
        else:
            top = np.broadcast_to(np.arange(n), jac.shape)
        top_vals = np.take_along_axis(jac, top, axis=1)
        ok = (top_vals > 0) & (top_vals >= min_jaccard)
        rows.append(np.broadcast_to(start + block_rows[:, None], top.shape)[ok])
        cols.append(top[ok])
        vals.append(top_vals[ok])
    adj = sp.csr_matrix(
        (np.concatenate(vals).astype(np.float64), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return adj.maximum(adj.T).tocsr()


def identical(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


def distinct_sets(sets: list) -> int:
    return len({frozenset(s) for s in sets})


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """(first call, median of the warm calls after it, result) in seconds."""
    timings, result = [], None
    for _ in range(repeats + 1):
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return timings[0], statistics.median(timings[1:]) if repeats else timings[0], result


def side_by_side(name: str, sets: list, labels: list) -> None:
    # First calls pay one-off costs (BLAS threads starting, pages faulted in), so both are
    # timed warm too; the old version fewer times, it is the slow one.
    cold, warm, new = timed(lambda: label_jaccard_graph(sets, labels, k=K), REPEATS)
    old_cold, old_warm, old = timed(lambda: dense_label_jaccard(sets, labels, k=K), OLD_REPEATS)
    print(
        f"n={len(sets):,} {name} ({distinct_sets(sets):,} distinct sets), k={K}: grouped {warm:.3f} s "
        f"(median of {REPEATS} warm runs; first call {cold:.3f} s), old dense {old_warm:.3f} s (median of "
        f"{OLD_REPEATS}; first call {old_cold:.3f} s), ratio {old_warm / warm:.1f}x warm, "
        f"identical output: {identical(new, old)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--old-too", action="store_true")
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    print(f"cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")

    side_by_side("realistic", *corpus(5000, seed=0))
    side_by_side("all-distinct", *corpus(5000, seed=0, n_labels=40, sizes=(3, 11), skew=0.0))
    if args.small:
        return

    sets, labels = corpus(args.n, seed=1)
    sizes = np.bincount([len(s) for s in sets])
    started = time.perf_counter()
    adj = label_jaccard_graph(sets, labels, k=K)
    big_s = time.perf_counter() - started
    print(
        f"n={args.n:,} realistic: {len(labels)} labels, {min(map(len, sets))}-{max(map(len, sets))} per image "
        f"(mean {np.average(np.arange(len(sizes)), weights=sizes):.1f}), {distinct_sets(sets):,} distinct sets; "
        f"k={K}: {big_s:.2f} s, {adj.nnz // 2:,} edges"
    )
    if args.old_too:
        started = time.perf_counter()
        old = dense_label_jaccard(sets, labels, k=K)
        old_s = time.perf_counter() - started
        print(
            f"n={args.n:,} old dense: {old_s:.1f} s, ratio {old_s / big_s:.0f}x, identical output: "
            f"{identical(adj, old)}"
        )


if __name__ == "__main__":
    main()
