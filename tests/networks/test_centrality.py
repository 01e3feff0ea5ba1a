"""Centralities against networkx: exact on small graphs, networkx's own estimator on sampled sources."""

import networkx as nx
import numpy as np
import pandas as pd

from tests.helpers import reference_centrality
from workbench_dagster.networks import centrality
from workbench_dagster.networks.centrality import CENTRALITY_COLUMNS, centrality_frame


def dyadic_karate_club():
    """The karate club with weights 2^(w-4) for its weights w = 1..7: distances 1/weight and their
    sums are exact in floating point, so equal-length paths tie exactly for networkx and igraph
    alike (with weights 1..7, 1/3 + 1/6 rounds below 1/2, and networkx, comparing floats exactly,
    no longer counts the two paths as equally short; igraph compares with a tolerance)."""
    G = nx.karate_club_graph()
    for _, _, d in G.edges(data=True):
        d["weight"] = 2.0 ** (d["weight"] - 4)
    return G


def test_centrality_matches_networkx_on_weighted_karate_club():
    G = dyadic_karate_club()
    frame = centrality_frame(G)
    assert list(frame.columns) == CENTRALITY_COLUMNS and len(frame) == 34
    assert frame.attrs["betweenness_k"] is None
    for column, values in reference_centrality(G).items():
        np.testing.assert_allclose(frame[column], [values[v] for v in frame["node"]], err_msg=column)
    assert frame.loc[frame["betweenness"].idxmax(), "node"] == 33  # the administrator brokers the club


def test_centrality_samples_shortest_paths_on_big_graphs(monkeypatch):
    G = dyadic_karate_club()
    reference = reference_centrality(G)
    monkeypatch.setattr(centrality, "EXACT_PATHS_MAX_NODES", 20)
    full = centrality_frame(G)  # k = min(500, 34): every node is a source, so still exact
    assert full.attrs["betweenness_k"] == 34
    for column in ("betweenness", "closeness"):
        np.testing.assert_allclose(full[column], [reference[column][v] for v in full["node"]], err_msg=column)

    monkeypatch.setattr(centrality, "PATH_SAMPLE", 25)
    first, second = centrality_frame(G), centrality_frame(G)
    assert first.attrs["betweenness_k"] == 25
    pd.testing.assert_frame_equal(first, second)
    for column in ("betweenness", "closeness"):
        exact = [reference[column][v] for v in first["node"]]
        assert not np.allclose(first[column], exact), column
        assert np.corrcoef(first[column], exact)[0, 1] > 0.9, column


def test_sampled_betweenness_is_networkx_estimator_on_the_same_sources(monkeypatch):
    import random

    rng = np.random.default_rng(5)
    G = nx.gnm_random_graph(400, 2400, seed=3)
    G.add_edges_from([(400, 401), (402, 402)])  # a separate pair, and a self-loop
    for _, _, d in G.edges(data=True):
        d["weight"] = float(rng.uniform(0.1, 1.0))
    monkeypatch.setattr(centrality, "EXACT_PATHS_MAX_NODES", 100)
    monkeypatch.setattr(centrality, "PATH_SAMPLE", 60)
    frame = centrality_frame(G)
    nodes = list(frame["node"])
    sources = [nodes[i] for i in centrality._path_sources(len(nodes), 60)]

    class SameSources(random.Random):  # networkx draws its sample with seed.sample(nodes, k)
        def sample(self, population, k):
            return sources

    H = G.copy()
    for _, _, d in H.edges(data=True):
        d["distance"] = 1 / d["weight"]
    reference = nx.betweenness_centrality(H, k=60, weight="distance", seed=SameSources())
    np.testing.assert_allclose(frame["betweenness"], [reference[v] for v in nodes], rtol=1e-9, atol=1e-12)
    assert frame["betweenness"].max() > 0


def test_centrality_on_disconnected_empty_and_tiny_graphs():
    G = nx.karate_club_graph()
    G.add_edge("x", "y", weight=1.0)
    G.add_node("alone")
    frame = centrality_frame(G).set_index("node")
    giant = nx.eigenvector_centrality_numpy(nx.karate_club_graph(), weight="weight")
    np.testing.assert_allclose(frame.loc[list(giant), "eigenvector"], list(giant.values()))
    assert (frame.loc[["x", "y", "alone"], "eigenvector"] == 0).all()
    assert frame.loc["alone", ["degree", "strength", "betweenness", "closeness"]].tolist() == [0, 0, 0, 0]

    empty = centrality_frame(nx.Graph())
    assert list(empty.columns) == CENTRALITY_COLUMNS and empty.empty
    pair = nx.Graph()
    pair.add_edge("a", "b", weight=2.0)
    assert centrality_frame(pair)["degree"].tolist() == [1, 1]
