"""Semantic networks of images: similarity graphs, centralities and communities.

Graphs are scipy sparse adjacency matrices whose row order is the caller's node order,
so they can be built for tens of thousands of images without ever materialising the
n x n similarity matrix; networkx only comes in for the per-node measures.
Edge weights are kept strictly positive because Leiden and the 1/weight distances used
for shortest paths both assume it.
"""

from __future__ import annotations

import warnings
from collections import Counter

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.preprocessing import MultiLabelBinarizer, normalize

# Betweenness and closeness need one Dijkstra per source node; above this many nodes
# that gets too slow, so they are estimated from a seeded sample of sources.
EXACT_PATHS_MAX_NODES = 500
PATH_SAMPLE = 500
SAMPLE_SEED = 0
DIJKSTRA_BLOCK = 256  # sources per scipy call: block x n distances in memory

CENTRALITY_COLUMNS = ["node", "degree", "strength", "betweenness", "eigenvector", "pagerank", "closeness"]
SUMMARY_COLUMNS = ["community", "size", "top_labels", "keywords", "central_images", "summary"]

# Captions come in English and Spanish; sklearn only ships an English list.
SPANISH_STOP_WORDS = frozenset(
    """
    a al algo algunas algunos ante antes como con contra cual cuando de del desde donde
    durante e el él ella ellas ellos en entre era es esa esas ese eso esos esta está están
    estas este esto estos fue ha hay la las le les lo los más me mi muy no nos o otra otras
    otro otros para pero poco por porque que qué se sea ser si sí sin sobre son su sus
    también tiene tienen todo todos tu un una unas uno unos y ya imagen foto fotografía
    """.split()
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | SPANISH_STOP_WORDS)


def knn_similarity_graph(
    vectors: np.ndarray, k: int, min_similarity: float, block_size: int = 4096
) -> sp.csr_matrix:
    """Symmetric cosine k-nearest-neighbour graph.

    Similarities are computed a block of rows at a time so memory stays at
    block_size x n; float32 halves that again at no cost to the ranking. An edge is kept
    when either end has the other among its k nearest (max symmetrisation), so hubs do
    not lose their edges to nodes that rank them lower.
    """
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    k = min(k, n - 1)
    if n == 0 or k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    x = normalize(x.reshape(n, -1))
    rows, cols, vals = [], [], []
    for start in range(0, n, block_size):
        sims = x[start : start + block_size] @ x.T
        block_rows = np.arange(sims.shape[0])
        sims[block_rows, start + block_rows] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        keep = (top_sims >= min_similarity) & (top_sims > 0)
        rows.append(np.broadcast_to(start + block_rows[:, None], top.shape)[keep])
        cols.append(top[keep])
        vals.append(top_sims[keep])
    weights = np.minimum(np.concatenate(vals).astype(np.float64), 1.0)  # float32 puts twins at 1 + 1e-7
    adj = sp.csr_matrix((weights, (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return adj.maximum(adj.T).tocsr()


def label_jaccard_graph(label_sets: list[list[str]], labels: list[str], min_jaccard: float = 0.0) -> sp.csr_matrix:
    """Images linked by how much their label sets overlap.

    The intersection counts come from one sparse product, so only pairs that share a
    label are ever touched. A label carried by most images still makes that product
    dense, so very common labels are worth leaving out of `labels` on big batches.
    """
    known = set(labels)
    binarizer = MultiLabelBinarizer(classes=list(labels), sparse_output=True)
    x = binarizer.fit_transform([[lab for lab in s if lab in known] for s in label_sets]).astype(np.float64).tocsr()
    sizes = np.asarray(x.sum(axis=1)).ravel()
    inter = (x @ x.T).tocoo()
    off_diagonal = (inter.row != inter.col) & (inter.data > 0)
    r, c, i = inter.row[off_diagonal], inter.col[off_diagonal], inter.data[off_diagonal]
    jaccard = i / (sizes[r] + sizes[c] - i)
    keep = jaccard >= min_jaccard
    n = len(label_sets)
    return sp.csr_matrix((jaccard[keep], (r[keep], c[keep])), shape=(n, n))


def combine_graphs(weighted: list[tuple[sp.csr_matrix, float]]) -> sp.csr_matrix:
    """Weighted average of graphs on the same nodes, so edge weights keep the inputs' scale."""
    if not weighted:
        raise ValueError("combine_graphs needs at least one graph")
    total = sum(weight for _, weight in weighted)
    if total <= 0:
        raise ValueError(f"graph weights must sum to a positive number, got {total}")
    combined = sum(sp.csr_matrix(adj, dtype=np.float64) * weight for adj, weight in weighted) / total
    combined = sp.csr_matrix(combined)
    combined.eliminate_zeros()
    return combined


def _upper_edges(adj: sp.spmatrix) -> sp.coo_matrix:
    # One entry per undirected edge; self-loops carry no meaning between images.
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
    upper = _upper_edges(adj)
    G = nx.Graph()
    G.add_nodes_from(node_ids)
    G.add_weighted_edges_from(
        (node_ids[r], node_ids[c], float(w)) for r, c, w in zip(upper.row, upper.col, upper.data)
    )
    return G


def edge_table(adj: sp.spmatrix, node_ids: list[str]) -> pd.DataFrame:
    """Edge list for storage and plotting: one row per undirected edge, source before target in node order."""
    _check_ids(adj, node_ids)
    upper = _upper_edges(adj)
    ids = np.asarray(node_ids, dtype=object)
    return pd.DataFrame(
        {"source": ids[upper.row], "target": ids[upper.col], "weight": upper.data.astype(np.float64)},
        columns=["source", "target", "weight"],
    )


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


def _closeness(H: nx.Graph, nodes: list, k: int | None) -> np.ndarray:
    """Closeness as networkx defines it (Wasserman-Faust scaling on disconnected graphs).

    scipy's compiled Dijkstra replaces networkx's, which takes minutes from a few
    thousand nodes. With k sampled sources a node's mean distance and reachable share are
    estimated from its distances to the sample, the same as from it since the graph is
    undirected; with every node as a source this is exactly networkx's value.
    """
    n = len(nodes)
    distances = nx.to_scipy_sparse_array(H, nodelist=nodes, weight="distance", format="csr")
    sources = np.arange(n) if k is None else np.sort(np.random.default_rng(SAMPLE_SEED).choice(n, k, replace=False))
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
        "betweenness": nx.betweenness_centrality(H, k=k, normalized=True, weight="distance", seed=SAMPLE_SEED),
        "eigenvector": _eigenvector(H),
        "pagerank": nx.pagerank(H, weight="weight"),
    }
    frame = pd.DataFrame({"node": nodes, **{name: [float(m[v]) for v in nodes] for name, m in measures.items()}})
    frame["degree"] = frame["degree"].astype(int)
    frame["closeness"] = _closeness(H, nodes, k)
    frame.attrs["betweenness_k"] = k
    return frame


def leiden_communities(G: nx.Graph, resolution: float, seed: int) -> dict:
    """Leiden communities with stable ids: 0 is the largest, ties go to the earlier node.

    graspologic leaves isolated nodes out, but every image must land somewhere, so each
    becomes a community of one. graspologic is imported here because importing it takes
    many seconds and only this step needs it. The seed must be > 0 (graspologic's
    native PRNG rejects 0).
    """
    from graspologic.partition import leiden

    raw = {}
    if G.number_of_edges():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Leiden partitions do not contain all nodes")
            raw = leiden(G, resolution=float(resolution), random_seed=int(seed))
    fresh = max(raw.values(), default=-1) + 1
    members: dict[int, list] = {}
    for node in G:
        if node not in raw:
            raw[node], fresh = fresh, fresh + 1
        members.setdefault(raw[node], []).append(node)
    order = sorted(members.values(), key=len, reverse=True)  # stable: first-seen order breaks ties
    return {node: new_id for new_id, group in enumerate(order) for node in group}


def modularity(G: nx.Graph, partition: dict) -> float:
    """Weighted modularity of a partition; 0.0 for a graph with no edges, where it is undefined."""
    if G.number_of_edges() == 0:
        return 0.0
    groups: dict[int, set] = {}
    for node, community in partition.items():
        groups.setdefault(community, set()).add(node)
    return float(nx.community.modularity(G, groups.values(), weight="weight"))


def _ctfidf_keywords(texts_by_community: list[str], top_n: int) -> list[list[str]]:
    """c-TF-IDF (BERTopic): words frequent in one community and rare across the others."""
    vectorizer = CountVectorizer(stop_words=STOP_WORDS, token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        counts = vectorizer.fit_transform(texts_by_community)
    except ValueError:  # every text empty or only stop words
        return [[] for _ in texts_by_community]
    tf = normalize(counts, norm="l1").toarray()
    term_totals = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = counts.sum() / counts.shape[0]
    scores = tf * np.log1p(avg_words / term_totals)
    vocab = vectorizer.get_feature_names_out()
    keywords = []
    for row in scores:
        best = sorted(np.flatnonzero(row), key=lambda j: (-row[j], vocab[j]))[:top_n]
        keywords.append([str(vocab[j]) for j in best])
    return keywords


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def summarize_communities(
    partition: dict[str, int],
    centrality: pd.DataFrame,
    node_labels: dict[str, list[str]],
    node_texts: dict[str, str],
    top_n: int = 5,
) -> pd.DataFrame:
    """A readable card per community: what it is labelled, what its captions say, who is central.

    Labels are ranked by count, with lift against the whole corpus breaking ties so a
    distinctive label beats one that is everywhere.
    """
    if not partition:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    members: dict[int, list[str]] = {}
    for node, community in partition.items():
        members.setdefault(community, []).append(node)
    communities = sorted(members)
    corpus = Counter(lab for node in partition for lab in set(node_labels.get(node, [])))
    pagerank = dict(zip(centrality["node"], centrality["pagerank"])) if len(centrality) else {}
    keywords = _ctfidf_keywords([" ".join(node_texts.get(v, "") for v in members[c]) for c in communities], top_n)
    rows = []
    for community, words in zip(communities, keywords):
        nodes, size = members[community], len(members[community])
        counts = Counter(lab for node in nodes for lab in set(node_labels.get(node, [])))
        lift = {lab: (cnt / size) / (corpus[lab] / len(partition)) for lab, cnt in counts.items()}
        top_labels = sorted(counts, key=lambda lab: (-counts[lab], -lift[lab], lab))[:top_n]
        central = sorted(nodes, key=lambda v: (-pagerank.get(v, 0.0), v))[:top_n]
        summary = f"Community {community}: {size} image{'s' if size != 1 else ''}, " + (
            f"mostly {_join(top_labels[:3])}" if top_labels else "no labels"
        )
        summary += f"; keywords: {', '.join(words)}." if words else "."
        rows.append([community, size, top_labels, words, central, summary])
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
