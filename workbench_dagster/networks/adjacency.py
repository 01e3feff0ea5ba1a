"""Sparse adjacency matrices to the forms the rest of the stage reads: networkx graphs and edge lists.

One entry per undirected edge, source before target in node order, self-loops dropped: the
edge table, the graph files and the layout all see the same edges.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp


def upper_edges(adj: sp.spmatrix) -> sp.coo_matrix:
    """One entry per undirected edge, the larger of the two directions; self-loops carry no meaning between images."""
    adj = sp.csr_matrix(adj)
    upper = sp.triu(adj.maximum(adj.T), k=1).tocoo()
    upper.eliminate_zeros()
    return upper


def _check_ids(adj: sp.spmatrix, node_ids: list[str]) -> None:
    if adj.shape != (len(node_ids), len(node_ids)):
        raise ValueError(f"adjacency is {adj.shape} but there are {len(node_ids)} node ids")


def to_networkx(adj: sp.spmatrix, node_ids: list[str]) -> nx.Graph:
    """Undirected weighted graph that keeps isolated images as nodes."""
    _check_ids(adj, node_ids)
    upper = upper_edges(adj)
    G = nx.Graph()
    G.add_nodes_from(node_ids)
    G.add_weighted_edges_from(
        (node_ids[r], node_ids[c], float(w)) for r, c, w in zip(upper.row, upper.col, upper.data)
    )
    return G


def edge_table(adj: sp.spmatrix, node_ids: list[str]) -> pd.DataFrame:
    """Edge list for storage and plotting: one row per undirected edge, source before target in node order."""
    _check_ids(adj, node_ids)
    upper = upper_edges(adj)
    ids = np.asarray(node_ids, dtype=object)
    return pd.DataFrame(
        {"source": ids[upper.row], "target": ids[upper.col], "weight": upper.data.astype(np.float64)},
        columns=["source", "target", "weight"],
    )


def network_from_edges(nodes: list[str], edges: pd.DataFrame) -> nx.Graph:
    """A stored edge table (source, target, weight) back as a graph, isolated nodes kept."""
    G = nx.Graph()
    G.add_nodes_from(nodes)
    G.add_weighted_edges_from(edges[["source", "target", "weight"]].itertuples(index=False, name=None))
    return G
