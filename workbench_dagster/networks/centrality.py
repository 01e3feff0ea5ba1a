"""Per-node centralities of a weighted graph, with compiled shortest paths so 20k images stay fast.

Shortest paths use distance = 1/weight, so similar images are close. Betweenness and
closeness come from igraph and scipy instead of networkx's Python loops, and match
networkx's definitions (the tests compare them).
"""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csgraph

# Betweenness and closeness need one Dijkstra per source node; above this many nodes
# that gets too slow, so they are estimated from a seeded sample of sources.
EXACT_PATHS_MAX_NODES = 500
PATH_SAMPLE = 500
SAMPLE_SEED = 0
DIJKSTRA_BLOCK = 256  # sources per scipy call: block x n distances in memory

CENTRALITY_COLUMNS = ["node", "degree", "strength", "betweenness", "eigenvector", "pagerank", "closeness"]


def _eigenvector(G: nx.Graph) -> dict:
    """Eigenvector centrality of the largest component, 0 elsewhere.

    On a disconnected graph the leading eigenvector is not unique (networkx refuses it),
    and only the giant component's ranking means anything; tiny components and solver
    failures give 0 instead of stopping the run.
    """
    scores = dict.fromkeys(G, 0.0)
    giant = G.subgraph(max(nx.connected_components(G), key=len))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy's note before failing on 2-node graphs
            scores |= nx.eigenvector_centrality_numpy(giant, weight="weight")
    except (nx.NetworkXException, RuntimeError, TypeError, ValueError, ArithmeticError):
        pass
    return scores


def _path_sources(n: int, k: int | None) -> np.ndarray:
    """The seeded sample of shortest-path sources (every node when k is None), shared by betweenness and closeness."""
    return np.arange(n) if k is None else np.sort(np.random.default_rng(SAMPLE_SEED).choice(n, k, replace=False))


def _betweenness(H: nx.Graph, nodes: list, k: int | None) -> np.ndarray:
    """Betweenness as networkx defines it (normalized, endpoints excluded), on distance = 1/weight.

    igraph's compiled Brandes replaces networkx's, which spends minutes in Python from a few
    thousand nodes. igraph counts each unordered pair once, i.e. half of the per-source sums
    networkx accumulates; with k sampled sources the sums are scaled as networkx's own
    estimator does (a source cannot lie on its own paths, so it is divided by k - 1 sources).
    """
    import igraph as ig

    n = len(nodes)
    if n <= 2:
        return np.zeros(n)
    index = {v: i for i, v in enumerate(nodes)}
    edges = [(index[u], index[v], d) for u, v, d in H.edges(data="distance")]
    graph = ig.Graph(n=n, edges=[(u, v) for u, v, _ in edges], directed=False)
    sources = _path_sources(n, k)
    per_source = 2 * np.asarray(
        graph.betweenness(
            directed=False,
            weights=[d for _, _, d in edges] or None,
            sources=None if k is None else sources.tolist(),
        ),
        dtype=float,
    )
    others = n - 1  # the targets a path through v can end at
    if k is None:
        return per_source / (others * (others - 1))
    scale = np.full(n, 1 / (k * (others - 1)))
    scale[sources] = 1 / ((k - 1) * (others - 1))
    return per_source * scale


def _closeness(H: nx.Graph, nodes: list, k: int | None) -> np.ndarray:
    """Closeness as networkx defines it (Wasserman-Faust scaling on disconnected graphs).

    scipy's compiled Dijkstra replaces networkx's, which takes minutes from a few
    thousand nodes. With k sampled sources a node's mean distance and reachable share are
    estimated from its distances to the sample, the same as from it since the graph is
    undirected; with every node as a source this is exactly networkx's value.
    """
    n = len(nodes)
    distances = nx.to_scipy_sparse_array(H, nodelist=nodes, weight="distance", format="csr")
    sources = _path_sources(n, k)
    total, reached = np.zeros(n), np.zeros(n)
    for start in range(0, len(sources), DIJKSTRA_BLOCK):
        block = sources[start : start + DIJKSTRA_BLOCK]
        d = csgraph.dijkstra(distances, directed=False, indices=block)
        d[np.arange(len(block)), block] = np.inf  # a node is not its own neighbour
        finite = np.isfinite(d)
        total += np.where(finite, d, 0.0).sum(axis=0)
        reached += finite.sum(axis=0)
    others = len(sources) - np.isin(np.arange(n), sources)
    safe = (total > 0) & (others > 0)
    closeness = np.zeros(n)
    closeness[safe] = reached[safe] / total[safe] * reached[safe] / others[safe]
    return closeness


def centrality_frame(G: nx.Graph) -> pd.DataFrame:
    """Per-node centralities; shortest paths use distance = 1/weight so similar images are close.

    Above EXACT_PATHS_MAX_NODES nodes betweenness and closeness are estimated from
    k = min(PATH_SAMPLE, n) seeded source nodes; the k used (None when exact) is in
    `frame.attrs["betweenness_k"]` so reports can say the values are estimates.
    """
    n = G.number_of_nodes()
    k = min(PATH_SAMPLE, n) if n > EXACT_PATHS_MAX_NODES else None
    if n == 0:
        frame = pd.DataFrame(columns=CENTRALITY_COLUMNS)
        frame.attrs["betweenness_k"] = k
        return frame
    H = G.copy()
    for _, _, data in H.edges(data=True):
        data["distance"] = 1.0 / data.get("weight", 1.0)
    nodes = list(H)
    measures = {
        "degree": dict(H.degree()),
        "strength": dict(H.degree(weight="weight")),
        "eigenvector": _eigenvector(H),
        "pagerank": nx.pagerank(H, weight="weight"),
    }
    frame = pd.DataFrame({"node": nodes, **{name: [float(m[v]) for v in nodes] for name, m in measures.items()}})
    frame["degree"] = frame["degree"].astype(int)
    frame.insert(3, "betweenness", _betweenness(H, nodes, k))
    frame["closeness"] = _closeness(H, nodes, k)
    frame.attrs["betweenness_k"] = k
    return frame
