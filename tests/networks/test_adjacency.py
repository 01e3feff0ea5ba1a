"""Adjacency matrices to edge tables and networkx graphs, and back."""

import networkx as nx
import numpy as np
import scipy.sparse as sp

from workbench_dagster.networks.adjacency import edge_table, to_networkx
from workbench_dagster.networks.similarity import knn_similarity_graph


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
