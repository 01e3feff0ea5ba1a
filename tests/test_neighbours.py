"""The exact neighbour search against brute force: blocks, workers, exact ties and twins."""

import numpy as np
import pytest

from workbench_dagster.neighbours import exact_neighbours, identical_rows, symmetric_top


def ranked_brute_force(sims: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `want` best columns by (similarity desc, index asc)."""
    n = len(sims)
    order = np.lexsort((np.broadcast_to(np.arange(n), sims.shape), -sims), axis=1)[:, :want]
    return np.take_along_axis(sims, order, axis=1), order


@pytest.mark.parametrize("block, workers", [(16, 1), (16, 3), (13, 2), (512, 2)])
def test_symmetric_top_matches_brute_force(block, workers):
    x = np.random.default_rng(0).normal(size=(203, 8)).astype(np.float32)  # 203 = 12 blocks of 16 and a partial one
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
    rows, cols, sims = exact_neighbours(np.full((4, 384), 384 ** -0.5, dtype=np.float32), 3)
    np.testing.assert_array_equal(cols.reshape(4, 3), [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    np.testing.assert_allclose(sims, 1.0, atol=1e-5)


def test_identical_rows_are_grouped_by_first_appearance():
    x = np.array([[1, 0], [0, 1], [1, 0], [2, 2], [0, 1]], dtype=np.float32)
    group, firsts = identical_rows(x)
    np.testing.assert_array_equal(group, [0, 1, 0, 2, 1])
    np.testing.assert_array_equal(firsts, [0, 1, 3])
