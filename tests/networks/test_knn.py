"""The exact neighbour search against brute force: blocks, workers, exact ties and twins."""

import numpy as np
import pytest

from workbench_dagster.networks.knn import exact_neighbours, identical_rows, symmetric_top


def ranked_brute_force(sims: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `want` best columns by (similarity desc, index asc)."""
    n = len(sims)
    order = np.lexsort((np.broadcast_to(np.arange(n), sims.shape), -sims), axis=1)[:, :want]
    return np.take_along_axis(sims, order, axis=1), order


@pytest.mark.parametrize("block, workers", [(16, 1), (16, 3), (13, 2), (512, 2)])
def test_symmetric_top_matches_brute_force(block, workers):
    x = (
        np.random.default_rng(0).normal(size=(203, 8)).astype(np.float32)
    )  # 203 = 12 blocks of 16 and a partial one
    sims, found = symmetric_top(x, 9, block=block, workers=workers)
    expected_sims, expected = ranked_brute_force(x.astype(np.float64) @ x.T.astype(np.float64), 9)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_allclose(sims, expected_sims, rtol=1e-5)


def test_symmetric_top_breaks_exact_ties_by_index_across_blocks_and_workers():
    # Small integers multiply exactly in float32 whatever the tiling, so ties are real ties.
    x = np.random.default_rng(1).integers(0, 2, size=(300, 5)).astype(np.float32)
    sims, found = symmetric_top(x, 12, block=32, workers=2)
    expected_sims, expected = ranked_brute_force(x @ x.T, 12)
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(sims, expected_sims)


def test_exact_neighbours_with_twins_match_brute_force_over_distinct_vectors():
    rng = np.random.default_rng(2)
    bases = rng.normal(size=(60, 16))
    bases /= np.linalg.norm(bases, axis=1, keepdims=True)
    group = rng.integers(0, 60, 700)  # twins of many sizes, a few vectors alone
    k = 6
    rows, cols, sims = exact_neighbours(bases[group].astype(np.float32), k)
    distinct = bases @ bases.T
    truth = distinct[group][:, group]  # twins score exactly alike here
    np.fill_diagonal(truth, -np.inf)
    _, expected = ranked_brute_force(truth, k)
    np.testing.assert_array_equal(rows, np.repeat(np.arange(700), k))
    np.testing.assert_array_equal(cols.reshape(700, k), expected)
    np.testing.assert_allclose(sims, truth[rows, cols], atol=1e-6)


def test_exact_neighbours_when_every_row_is_the_same():
    rows, cols, sims = exact_neighbours(np.full((4, 384), 384**-0.5, dtype=np.float32), 3)
    np.testing.assert_array_equal(cols.reshape(4, 3), [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    np.testing.assert_allclose(sims, 1.0, atol=1e-5)


def test_identical_rows_are_grouped_by_first_appearance():
    x = np.array([[1, 0], [0, 1], [1, 0], [2, 2], [0, 1]], dtype=np.float32)
    group, firsts = identical_rows(x)
    np.testing.assert_array_equal(group, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(firsts, [0, 1, 3])


def test_twins_that_differ_only_in_the_sign_of_a_zero_are_twins():
    rng = np.random.default_rng(3)
    bases = rng.normal(size=(20, 384)).astype(np.float32)
    bases[:, 0] = 0.0
    bases /= np.linalg.norm(bases, axis=1, keepdims=True)
    group = rng.integers(0, 20, 3000)
    x = bases[group]
    x[::2, 0] = -0.0
    group_of, _ = identical_rows(x)
    assert len(set(group_of)) == 20
    rows, cols, _ = exact_neighbours(x, 5)
    for i in range(0, 3000, 97):
        earliest = [j for j in np.flatnonzero(group == group[i]) if j != i][:5]
        assert cols[rows == i].tolist() == earliest, i


def test_twins_ranked_in_slices_give_the_same_neighbours(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    x[7] = x[150]  # one pair of twins sends every distinct vector through the expansion
    whole = exact_neighbours(x, 40)
    monkeypatch.setattr("workbench_dagster.networks.knn.EXPAND_ENTRIES", 100)
    for got, expected in zip(exact_neighbours(x, 40), whole):
        np.testing.assert_array_equal(got, expected)
    assert whole[1][whole[0] == 7][0] == 150


def test_exact_neighbours_caps_k_and_takes_any_float_input():
    rows, cols, sims = exact_neighbours(np.eye(3), 5)  # float64, k > n - 1
    assert len(rows) == len(cols) == len(sims) == 6 and sims.dtype == np.float32
    assert set(zip(rows.tolist(), cols.tolist())) == {(i, j) for i in range(3) for j in range(3) if i != j}
    rows, cols, _ = exact_neighbours(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 5)
    assert cols.max() < 3 and len(rows) == len(cols) == 6
    x = np.random.default_rng(5).normal(size=(50, 6))
    for got, expected in zip(exact_neighbours(x, 4), exact_neighbours(x.astype(np.float32), 4)):
        np.testing.assert_array_equal(got, expected)
    assert all(len(part) == 0 for part in exact_neighbours(np.ones((1, 4)), 3))
