"""The force layout: seeded, and every planted cluster kept apart on the map."""

import numpy as np
import scipy.sparse as sp

from tests.helpers import planted_clusters
from workbench_dagster.networks.layout import force_layout
from workbench_dagster.networks.similarity import knn_similarity_graph


def test_force_layout_is_seeded_and_keeps_every_planted_cluster_apart():
    # Four clusters, two of them in a component of their own: a spectral map collapses each
    # component onto a point; the layout must keep all four apart.
    vectors, truth = planted_clusters(n_clusters=4, per_cluster=150)
    adj = knn_similarity_graph(vectors, k=8, min_similarity=0.0).tolil()
    adj[0, 150] = adj[150, 0] = 0.05  # clusters 0 and 1 bridged; 2 and 3 on their own
    adj = sp.vstack([sp.hstack([adj, sp.csr_matrix((600, 1))]), sp.csr_matrix((1, 601))]).tocsr()  # + isolated
    truth = np.append(truth, -1)
    coords = force_layout(adj, seed=7)
    assert coords.shape == (601, 2) and np.isfinite(coords).all()
    import random

    random.seed(12345)  # igraph's process-wide generator is Python's: the map must not depend on it
    np.testing.assert_array_equal(coords, force_layout(adj, seed=7))
    assert not np.allclose(coords, force_layout(adj, seed=8))
    centres = np.stack([coords[truth == c].mean(axis=0) for c in range(4)])
    spread = max(np.linalg.norm(coords[truth == c] - centres[c], axis=1).mean() for c in range(4))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(4) for b in range(a + 1, 4)]
    assert min(gaps) > 2 * spread
    assert force_layout(sp.csr_matrix((3, 3)), seed=7).tolist() == [[0.0, 0.0]] * 3
