"""Leiden and hierarchical Leiden recover planted clusters, seeded; modularity as networkx computes it."""

import networkx as nx
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from tests.helpers import planted_clusters
from workbench_dagster.networks.adjacency import to_networkx
from workbench_dagster.networks.communities import hierarchical_communities, leiden_communities, modularity
from workbench_dagster.networks.similarity import knn_similarity_graph


def test_leiden_recovers_planted_clusters_deterministically():
    vectors, truth = planted_clusters()
    ids = [f"img{i:03d}" for i in range(len(truth))] + ["isolated-1", "isolated-2"]
    adj = knn_similarity_graph(vectors, k=10, min_similarity=0.0)
    G = to_networkx(sp.block_diag([adj, sp.csr_matrix((2, 2))]).tocsr(), ids)

    partition = leiden_communities(G, resolution=1.0, seed=7)
    assert set(partition) == set(ids)
    found = [partition[node] for node in ids[: len(truth)]]
    assert adjusted_rand_score(truth, found) >= 0.9
    # Isolated nodes get their own ids; ids are renumbered by size, 0 the largest.
    assert partition["isolated-1"] != partition["isolated-2"]
    sizes = pd.Series(partition).value_counts().sort_index()
    assert list(sizes.index) == list(range(len(sizes))) and sizes.is_monotonic_decreasing
    assert leiden_communities(G, resolution=1.0, seed=7) == partition
    assert modularity(G, partition) > 0.6
    assert modularity(nx.empty_graph(3), {0: 0, 1: 1, 2: 2}) == 0.0


def test_modularity_matches_networkx():
    G = nx.karate_club_graph()
    partition = {v: int(G.nodes[v]["club"] == "Officer") for v in G}
    groups = [{v for v in G if partition[v] == c} for c in (0, 1)]
    assert modularity(G, partition) == pytest.approx(nx.community.modularity(G, groups, weight="weight"))


def test_hierarchical_leiden_levels_refine_each_other():
    vectors, truth = planted_clusters(seed=5, per_cluster=24, n_clusters=5, dim=64)
    adj = knn_similarity_graph(vectors, k=8, min_similarity=0.0)
    G = nx.from_scipy_sparse_array(adj)
    # Level 0 finds the 5 planted clusters of 24; each is bigger than 12, so a level below splits it.
    levels = hierarchical_communities(G, resolution=1.0, seed=7, max_cluster_size=12)
    assert len(levels) >= 2
    assert adjusted_rand_score(truth, [levels[0][v] for v in range(len(truth))]) >= 0.9
    for partition in levels:
        assert set(partition) == set(G)
        sizes = pd.Series(partition).value_counts().sort_index()
        assert list(sizes.index) == list(range(len(sizes)))
    for upper, lower in zip(levels, levels[1:]):
        parents = pd.DataFrame({"lower": lower, "upper": upper}).groupby("lower")["upper"].nunique()
        assert (parents == 1).all()  # a deeper community sits inside one community of the level above
        assert len(set(lower.values())) > len(set(upper.values()))
    assert max(pd.Series(levels[-1]).value_counts()) <= 12
    assert modularity(G, levels[0]) > modularity(G, levels[-1]) > 0
    assert hierarchical_communities(G, 1.0, 7, 12) == levels
    assert hierarchical_communities(nx.empty_graph(3), 1.0, 7, 12) == [{0: 0, 1: 1, 2: 2}]
