"""Similarity layers: cosine kNN against brute force, label Jaccard top-k, their weighted average."""

import numpy as np
import pytest
import scipy.sparse as sp

from tests.helpers import TAXONOMY
from workbench_dagster.networks.similarity import combine_graphs, knn_similarity_graph, label_jaccard_graph


def brute_force_knn(vectors, k, min_similarity):
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    dense = np.zeros_like(sims)
    for i, row in enumerate(sims):
        for j in np.argsort(-row)[:k]:
            if row[j] >= min_similarity and row[j] > 0:
                dense[i, j] = row[j]
    return np.maximum(dense, dense.T)


@pytest.mark.parametrize(
    "n, dim", [(15, 16), (300, 16), (1100, 32)]
)  # one product block; several, the last partial
def test_knn_graph_matches_brute_force(n, dim):
    vectors = np.random.default_rng(0).normal(size=(n, dim))
    expected = brute_force_knn(vectors, k=7, min_similarity=0.5)
    adj = knn_similarity_graph(vectors, k=7, min_similarity=0.5)
    assert sp.issparse(adj) and adj.shape == (n, n)
    assert 0 < (expected > 0).sum() < (brute_force_knn(vectors, k=7, min_similarity=-1.0) > 0).sum()
    np.testing.assert_array_equal(adj.toarray() > 0, expected > 0)
    np.testing.assert_allclose(adj.toarray(), expected, atol=1e-5)


def test_knn_graph_small_and_degenerate_inputs():
    assert knn_similarity_graph(np.empty((0, 8)), k=5, min_similarity=0.0).shape == (0, 0)
    assert knn_similarity_graph(np.ones((1, 8)), k=5, min_similarity=0.0).nnz == 0
    # n <= k: every other node is a neighbour; the zero vector links to nobody.
    vectors = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    adj = knn_similarity_graph(vectors, k=10, min_similarity=0.0).toarray()
    c = 1 / np.sqrt(2)
    np.testing.assert_allclose(adj, [[0, c, 0, 0], [c, 0, c, 0], [0, c, 0, 0], [0, 0, 0, 0]], atol=1e-6)
    twins = knn_similarity_graph(np.full((3, 384), 0.1), k=2, min_similarity=0.0)
    assert twins.nnz == 6 and twins.max() == 1.0


@pytest.mark.parametrize("n, dim", [(1000, 64), (3000, 384)])  # BLAS rounds twins by tile position at the larger
def test_exact_knn_ties_between_identical_vectors_go_to_the_earlier_item(n, dim):
    rng = np.random.default_rng(0)
    bases = rng.normal(size=(20, dim))
    group = rng.integers(0, 20, n)
    adj = knn_similarity_graph(bases[group], k=5, min_similarity=0.0)  # twins: every tie is exact
    for i in range(n):
        members = np.flatnonzero(group == group[i])
        earliest = [j for j in members if j != i][:5]
        neighbours = set(adj[i].indices)
        assert set(earliest) <= neighbours, i
        if i not in members[:6]:  # nobody else picks it, so it keeps only its own choice
            assert neighbours == set(earliest), i
    np.testing.assert_allclose(adj.data, 1.0, atol=1e-6)  # unit vectors in float32: 1 +- a few ulp


def test_exact_knn_breaks_ties_at_the_kth_place_towards_the_earlier_item():
    # Unit vectors of +-0.25 in 16 dimensions: every cosine is a multiple of 1/8, computed
    # exactly in any summation order, so hundreds of rows tie at their k-th place.
    rng = np.random.default_rng(4)
    vectors = rng.choice([-0.25, 0.25], size=(600, 16)).astype(np.float32)
    dense = vectors @ vectors.T
    np.fill_diagonal(dense, -np.inf)
    top = np.lexsort((np.broadcast_to(np.arange(600), dense.shape), -dense), axis=1)[:, :5]  # value, then column
    kth, spare = np.take_along_axis(dense, top, axis=1)[:, 4], np.sort(dense, axis=1)[:, -6]
    assert ((kth == spare) & (kth > 0)).sum() > 100  # the tie-breaking path is really taken
    expected = np.zeros_like(dense)
    rows = np.repeat(np.arange(600), 5)
    vals = dense[rows, top.ravel()]
    ok = vals >= 0.1
    expected[rows[ok], top.ravel()[ok]] = vals[ok]
    adj = knn_similarity_graph(vectors, k=5, min_similarity=0.1).toarray()
    np.testing.assert_array_equal(adj, np.maximum(expected, expected.T))


def test_approximate_knn_finds_nearly_all_exact_neighbours_with_exact_weights():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(40, 32))
    vectors = centers[rng.integers(0, 40, 3000)] + 0.5 * rng.normal(size=(3000, 32))
    exact = knn_similarity_graph(vectors, k=8, min_similarity=0.0)
    approx = knn_similarity_graph(vectors, k=8, min_similarity=0.0, approximate_above=1000, seed=1)
    found = approx.multiply(exact > 0)
    assert found.nnz / exact.nnz >= 0.95
    np.testing.assert_allclose(found.data, exact.multiply(approx > 0).data, atol=1e-5)
    again = knn_similarity_graph(vectors, k=8, min_similarity=0.0, approximate_above=1000, seed=1)
    assert (again != approx).nnz == 0  # seeded: the same graph every run


def brute_force_top_k_jaccard(sets, k):
    n = len(sets)
    jac = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            union = len(set(sets[i]) | set(sets[j]))
            if i != j and union:
                jac[i, j] = len(set(sets[i]) & set(sets[j])) / union
    kept = np.zeros_like(jac)
    for i in range(n):
        order = sorted(range(n), key=lambda j: (-jac[i, j], j))[:k]  # ties: earlier image first
        for j in order:
            if jac[i, j] > 0:
                kept[i, j] = jac[i, j]
    return np.maximum(kept, kept.T)


def test_label_jaccard_graph():
    sets = [["a", "b"], ["b", "c"], ["a", "b", "c"], ["d"], [], ["zzz-unknown"]]
    adj = label_jaccard_graph(sets, ["a", "b", "c", "d"])
    expected = np.zeros((6, 6))
    expected[0, 1] = expected[1, 0] = 1 / 3
    expected[0, 2] = expected[2, 0] = 2 / 3
    expected[1, 2] = expected[2, 1] = 2 / 3
    np.testing.assert_allclose(adj.toarray(), expected)
    strong = label_jaccard_graph(sets, ["a", "b", "c", "d"], min_jaccard=0.5).toarray()
    np.testing.assert_allclose(strong, np.where(expected >= 0.5, expected, 0))


def test_label_jaccard_top_k_in_blocks_matches_brute_force_with_a_label_everywhere():
    rng = np.random.default_rng(3)
    # "lab0" is on every image: X X^T is fully dense, the case the blocks exist for.
    sets = [["lab0"] + [lab for lab in TAXONOMY[1:] if rng.random() < 0.2] for _ in range(120)]
    expected = brute_force_top_k_jaccard(sets, k=4)
    for block_entries in (120 * 7, 1 << 24):  # 7 rows per block, and one block
        adj = label_jaccard_graph(sets, TAXONOMY, k=4, block_entries=block_entries)
        np.testing.assert_allclose(adj.toarray(), expected, atol=1e-6)
    assert adj.nnz <= 2 * 4 * len(sets)  # O(n k), not n^2
    full = label_jaccard_graph(sets, TAXONOMY).toarray()
    assert (full > 0).sum() == 120 * 119


def test_label_jaccard_with_many_duplicate_sets_matches_brute_force():
    rng = np.random.default_rng(7)
    # 17 ways of writing 14 distinct sets once unknown labels are dropped (reordered, repeated
    # and unknown labels; [] and only-unknown both empty), drawn with skewed popularity.
    pool = [
        ["lab0"],
        ["lab0", "lab1"],
        ["lab1", "lab0"],
        ["lab0", "lab1", "lab2"],
        ["lab2", "lab3"],
        ["lab0", "lab4", "lab5"],
        ["lab4", "lab5"],
        ["lab6"],
        ["lab6", "lab7", "zzz-unknown"],
        ["lab6", "lab7"],
        ["lab1", "lab2", "lab3", "lab4"],
        ["lab8", "lab9", "lab10", "lab11"],
        ["lab9", "lab10"],
        ["lab3", "lab9", "lab2", "lab10", "lab3"],
        [],
        ["zzz-unknown", "yyy"],
        ["lab0", "lab2", "lab4", "lab6"],
    ]
    weights = 1 / np.arange(1, len(pool) + 1) ** 1.5
    drawn = rng.choice(len(pool), size=300, p=weights / weights.sum())
    sets = [list(rng.permutation(pool[i])) for i in drawn]
    assert len({frozenset(lab for lab in s if lab in TAXONOMY) for s in sets}) == 14
    counts = np.bincount(drawn, minlength=len(pool))
    assert counts.max() > 11 and counts[13] == 1  # its own set fills some top 10s; pool[13] is alone,
    # and its best other sets tie (1/2 with lab2 lab3 and with lab9 lab10): the earlier image must win
    known = [[lab for lab in s if lab in TAXONOMY] for s in sets]  # what the graph sees
    for k in (1, 3, 10, 299):
        brute = brute_force_top_k_jaccard(known, k)
        for min_jaccard in (0.0, 0.3, 0.5):
            expected = np.where(brute >= min_jaccard, brute, 0)
            for block_entries in (300 * 4, 1 << 24):
                adj = label_jaccard_graph(
                    sets, TAXONOMY, min_jaccard=min_jaccard, k=k, block_entries=block_entries
                )
                np.testing.assert_array_equal(adj.toarray() > 0, expected > 0)
                np.testing.assert_allclose(adj.toarray(), expected, atol=1e-6)
    empty = [i for i, s in enumerate(known) if not s]
    assert empty and adj[empty].nnz == 0  # empty (or all-unknown) sets link to nobody


def test_combine_graphs_is_a_weighted_average():
    a = sp.csr_matrix(np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]]))
    b = sp.csr_matrix(np.array([[0, 0, 0.5], [0, 0, 0], [0.5, 0, 0]]))
    np.testing.assert_allclose(combine_graphs([(a, 1.0), (b, 3.0)]).toarray(), (a + 3 * b).toarray() / 4)
    with pytest.raises(ValueError):
        combine_graphs([])
