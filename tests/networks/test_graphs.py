import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from tests.helpers import planted_clusters, reference_centrality
from workbench_dagster.networks import graphs
from workbench_dagster.networks.graphs import (
    CENTRALITY_COLUMNS,
    SUMMARY_COLUMNS,
    centrality_frame,
    combine_graphs,
    edge_table,
    knn_similarity_graph,
    label_jaccard_graph,
    leiden_communities,
    modularity,
    summarize_communities,
    to_networkx,
)


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


def test_combine_graphs_is_a_weighted_average():
    a = sp.csr_matrix(np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]]))
    b = sp.csr_matrix(np.array([[0, 0, 0.5], [0, 0, 0], [0.5, 0, 0]]))
    np.testing.assert_allclose(combine_graphs([(a, 1.0), (b, 3.0)]).toarray(), (a + 3 * b).toarray() / 4)
    with pytest.raises(ValueError):
        combine_graphs([])


def test_edge_table_and_networkx_round_trip():
    adj = knn_similarity_graph(np.random.default_rng(1).normal(size=(40, 8)), k=4, min_similarity=0.2)
    ids = [f"img{i:02d}" for i in range(40)]
    adj = sp.block_diag([adj, sp.csr_matrix((1, 1))]).tocsr()  # plus one isolated image
    ids.append("lonely")
    table = edge_table(adj, ids)
    assert list(table.columns) == ["source", "target", "weight"]
    assert len(table) == adj.nnz // 2
    index = {node: i for i, node in enumerate(ids)}
    r, c = table["source"].map(index), table["target"].map(index)
    assert (r < c).all()
    rebuilt = sp.coo_matrix((table["weight"], (r, c)), shape=adj.shape)
    np.testing.assert_allclose((rebuilt + rebuilt.T).toarray(), adj.toarray())

    G = to_networkx(adj, ids)
    assert list(G) == ids and G.degree("lonely") == 0
    np.testing.assert_allclose(nx.to_scipy_sparse_array(G, nodelist=ids).toarray(), adj.toarray())


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
    monkeypatch.setattr(graphs, "EXACT_PATHS_MAX_NODES", 20)
    full = centrality_frame(G)  # k = min(500, 34): every node is a source, so still exact
    assert full.attrs["betweenness_k"] == 34
    for column in ("betweenness", "closeness"):
        np.testing.assert_allclose(full[column], [reference[column][v] for v in full["node"]], err_msg=column)

    monkeypatch.setattr(graphs, "PATH_SAMPLE", 25)
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
    monkeypatch.setattr(graphs, "EXACT_PATHS_MAX_NODES", 100)
    monkeypatch.setattr(graphs, "PATH_SAMPLE", 60)
    frame = centrality_frame(G)
    nodes = list(frame["node"])
    sources = [nodes[i] for i in graphs._path_sources(len(nodes), 60)]

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


def test_summarize_communities():
    partition = {"p1": 0, "p2": 0, "p3": 0, "b1": 1, "b2": 1}
    centrality = pd.DataFrame({"node": list(partition), "pagerank": [0.1, 0.4, 0.2, 0.05, 0.25]})
    labels = {
        "p1": ["protest", "signs or banners", "outdoor"],
        "p2": ["protest", "outdoor"],
        "p3": ["protest", "signs or banners"],
        "b1": ["beach", "outdoor"],
        "b2": ["beach", "outdoor"],
    }
    texts = {
        "p1": "People march with banners through the city, protesters",
        "p2": "Una marcha de protesta en la plaza, people",
        "p3": "Protesters and people hold banners and signs",
        "b1": "Una playa con palmeras y el mar, people",
        "b2": "People relax on the beach near the sea",
    }
    frame = summarize_communities(partition, centrality, labels, texts, top_n=3)
    assert list(frame.columns) == SUMMARY_COLUMNS
    protest, beach = frame.to_dict("records")
    assert (protest["community"], protest["size"], beach["size"]) == (0, 3, 2)
    # protest 3, then outdoor and signs both 2: signs wins on lift (2/3 vs 2/5 corpus share)
    assert protest["top_labels"] == ["protest", "signs or banners", "outdoor"]
    assert beach["top_labels"] == ["beach", "outdoor"]
    # "people" is the most frequent protest word but also a beach word, so c-TF-IDF ranks it below both.
    assert protest["keywords"] == ["banners", "protesters", "people"]
    assert not {"the", "with", "de", "la", "una", "con", "el", "y"} & set(protest["keywords"] + beach["keywords"])
    assert "mar" in beach["keywords"] or "sea" in beach["keywords"]
    assert protest["central_images"] == ["p2", "p3", "p1"] and beach["central_images"] == ["b2", "b1"]
    # signs: 2 of 3 here, 2 of 5 overall -> lift 1.67; protest is only here (lift 5/3); outdoor is below 1.5
    assert protest["overrepresented_labels"] == ["protest", "signs or banners"]
    assert protest["label_lift"] == pytest.approx([5 / 3, 5 / 3], abs=1e-4)
    assert beach["overrepresented_labels"] == ["beach"]
    assert protest["summary"].startswith(
        "Community 0: 3 images, mostly protest, signs or banners and outdoor; keywords: banners, protesters"
    )
    assert summarize_communities({}, centrality, labels, texts).columns.tolist() == SUMMARY_COLUMNS
    silent = summarize_communities({"x": 0}, centrality.iloc[:0], {}, {"x": "the and of"})
    assert (
        silent.loc[0, "keywords"] == []
        and silent.loc[0, "summary"] == "Community 0: 1 image, no labels. Most central: x."
    )
