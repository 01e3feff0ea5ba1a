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

import faiss
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.preprocessing import MultiLabelBinarizer, normalize

from workbench_dagster.networks.knn import approximate_neighbours, exact_neighbours

# Betweenness and closeness need one Dijkstra per source node; above this many nodes
# that gets too slow, so they are estimated from a seeded sample of sources.
EXACT_PATHS_MAX_NODES = 500
PATH_SAMPLE = 500
SAMPLE_SEED = 0
DIJKSTRA_BLOCK = 256  # sources per scipy call: block x n distances in memory

CENTRALITY_COLUMNS = ["node", "degree", "strength", "betweenness", "eigenvector", "pagerank", "closeness"]
SUMMARY_COLUMNS = [
    "community",
    "size",
    "top_labels",
    "overrepresented_labels",
    "label_lift",
    "keywords",
    "central_images",
    "summary",
]

# Captions come in English and Spanish; sklearn only ships an English list.
SPANISH_STOP_WORDS = frozenset(
    [
        "a",
        "al",
        "algo",
        "algunas",
        "algunos",
        "ante",
        "antes",
        "como",
        "con",
        "contra",
        "cual",
        "cuando",
        "de",
        "del",
        "desde",
        "donde",
        "durante",
        "e",
        "el",
        "él",
        "ella",
        "ellas",
        "ellos",
        "en",
        "entre",
        "era",
        "es",
        "esa",
        "esas",
        "ese",
        "eso",
        "esos",
        "esta",
        "está",
        "están",
        "estas",
        "este",
        "esto",
        "estos",
        "fue",
        "ha",
        "hay",
        "la",
        "las",
        "le",
        "les",
        "lo",
        "los",
        "más",
        "me",
        "mi",
        "muy",
        "no",
        "nos",
        "o",
        "otra",
        "otras",
        "otro",
        "otros",
        "para",
        "pero",
        "poco",
        "por",
        "porque",
        "que",
        "qué",
        "se",
        "sea",
        "ser",
        "si",
        "sí",
        "sin",
        "sobre",
        "son",
        "su",
        "sus",
        "también",
        "tiene",
        "tienen",
        "todo",
        "todos",
        "tu",
        "un",
        "una",
        "unas",
        "uno",
        "unos",
        "y",
        "ya",
        "imagen",
        "foto",
        "fotografía",
    ]
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | SPANISH_STOP_WORDS)


def knn_similarity_graph(
    vectors: np.ndarray,
    k: int,
    min_similarity: float,
    approximate_above: int | None = None,
    seed: int = SAMPLE_SEED,
) -> sp.csr_matrix:
    """Symmetric cosine k-nearest-neighbour graph.

    Up to `approximate_above` items the neighbours are exact: the upper half of the
    similarity matrix is multiplied in BLAS blocks that feed each row's k best straight
    into heaps (`neighbours.symmetric_top`), so memory stays O(n k) and the n x n matrix
    never exists. Above it an inverted-file index gives approximate neighbours with exact
    similarities. An edge is kept when either end has
    the other among its k nearest (max symmetrisation), so hubs do not lose their edges to
    nodes that rank them lower.
    """
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    k = min(k, n - 1)
    if n == 0 or k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    x = np.ascontiguousarray(normalize(x.reshape(n, -1)), dtype=np.float32)
    if approximate_above is not None and n > approximate_above:
        rows, cols, sims = approximate_neighbours(x, k, seed)
    else:
        rows, cols, sims = exact_neighbours(x, k)
    keep = (sims >= min_similarity) & (sims > 0)
    weights = np.minimum(sims[keep].astype(np.float64), 1.0)  # float32 puts twins at 1 + 1e-7
    adj = sp.csr_matrix((weights, (rows[keep], cols[keep])), shape=(n, n))
    return adj.maximum(adj.T).tocsr()


def label_jaccard_graph(
    label_sets: list[list[str]],
    labels: list[str],
    min_jaccard: float = 0.0,
    k: int | None = None,
    block_entries: int = 1 << 24,
) -> sp.csr_matrix:
    """Images linked by how much their label sets overlap; with `k`, only each image's k best.

    Jaccard only depends on the label sets (labels outside `labels` ignored), and corpora
    have far fewer distinct sets U than images n, so images are grouped by set and the k
    best are found once per set (see `_top_k_by_set`): U x U overlaps, never n x n, a
    block of query sets at a time (block x sets searched <= `block_entries`), memory
    O(U k + n k) whatever the label frequencies. Each image's k best are the other images
    ranked by (Jaccard desc, image index asc): ties at the k-th place go to the earlier
    image. Images of one set share Jaccard 1; an empty set links to nobody. Without `k`
    (or with k >= n - 1) every overlapping pair is kept, image by image (block x n entries
    at most `block_entries`), which is for small graphs only.
    """
    known = set(labels)
    binarizer = MultiLabelBinarizer(classes=list(labels), sparse_output=True)
    n = len(label_sets)
    if n == 0:
        return sp.csr_matrix((0, 0), dtype=np.float64)
    group_of: dict[frozenset, int] = {}  # set -> id, in order of first image: ids order sets by earliest image
    group = np.fromiter(
        (group_of.setdefault(frozenset(lab for lab in s if lab in known), len(group_of)) for s in label_sets),
        dtype=np.int64,
        count=n,
    )
    x = binarizer.fit_transform(list(group_of)).astype(np.float32).toarray()  # U x labels
    keep_k = n - 1 if k is None else min(k, n - 1)
    if keep_k <= 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    if keep_k >= n - 1:
        return _all_overlapping_pairs(x[group], min_jaccard, block_entries)
    rows, cols, weights = _top_k_by_set(x, group, keep_k, block_entries)
    ok = (weights > 0) & (weights >= min_jaccard)
    adj = sp.csr_matrix((weights[ok].astype(np.float64), (rows[ok], cols[ok])), shape=(n, n))
    return adj.maximum(adj.T).tocsr()


_EXACT_FLOAT32_INT = 1 << 24  # float32 adds integers exactly while every partial sum stays within +-2^24


def _top_k_by_set(
    x: np.ndarray, group: np.ndarray, k: int, block_entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every image's k best others by (Jaccard desc, index asc), computed once per distinct set.

    x: U x labels indicator of the distinct sets, group: each image's set (ids in order of
    first image), k < n - 1. For each non-empty set u the r = k + 1 best images of all n
    (its own images included, at Jaccard 1) are found; an image of u takes them minus
    itself, or the first k when it is not among them. Those r images lie among the first
    min(size, r) images of the r best sets by (Jaccard desc, set id asc): every set above
    the r-th image's Jaccard t holds fewer than r images, and the earliest images at t
    belong to the earliest sets at t.

    The r best sets come from faiss's flat inner-product search (BLAS blocks, a heap per
    query), one search per set size s: against sets of one size Jaccard c / (|u| + s - c)
    only grows with the overlap c, so sets of size s are scored c * m - (their rank among
    the m searched), which orders them by (overlap desc, id asc). Scores and all partial
    sums are integers below 2^24, exact in float32 whatever the summation order, so there
    are no ties for faiss to break its own way. Queries go `block_entries // m` at a time
    (faiss multiplies in tiles of at most 4096 x 1024 within that), which also bounds the
    candidate arrays. Returns (rows, cols, float32 Jaccard), k per image of a non-empty set.
    """
    n, n_sets = len(group), x.shape[0]
    r = k + 1
    sizes = x.sum(axis=1).astype(np.int64)
    counts = np.bincount(group, minlength=n_sets)
    members = np.argsort(group, kind="stable")  # images by set, ascending within each
    starts = np.cumsum(counts) - counts
    width = int(min(r, counts.max()))
    slot = np.arange(width)
    # first[v, j]: the j-th image of set v, n where the set has fewer
    first = np.where(slot < counts[:, None], members[np.minimum(starts[:, None] + slot, n - 1)], n)
    active = np.flatnonzero(sizes > 0)
    if len(active) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    pieces = []  # (set ids, database rows) per size, split so that every score stays below 2^24
    for s in np.unique(sizes[active]):
        same_size = np.flatnonzero(sizes == s)
        cap = max(1, _EXACT_FLOAT32_INT // (int(s) + 1) - 1)
        for p0 in range(0, len(same_size), cap):
            ids = same_size[p0 : p0 + cap]
            base = np.hstack([x[ids] * len(ids), -np.arange(len(ids), dtype=np.float32)[:, None]])
            pieces.append((ids, np.ascontiguousarray(base, dtype=np.float32)))
    n_found = sum(min(r, len(ids)) for ids, _ in pieces)
    n_top = min(r, n_found)
    block = max(1, block_entries // max(max(len(ids) for ids, _ in pieces), n_found, n_top * width))
    queries = np.hstack([x, np.ones((n_sets, 1), dtype=np.float32)])
    best = np.empty((len(active), r), dtype=np.int64)
    best_jac = np.empty((len(active), r), dtype=np.float64)
    for start in range(0, len(active), block):
        sets = active[start : start + block]
        q = np.ascontiguousarray(queries[sets])
        found, found_jac = [], []
        for ids, base in pieces:
            score, local = faiss.knn(q, base, min(r, len(ids)), metric=faiss.METRIC_INNER_PRODUCT)
            inter = (score.astype(np.int64) + local) // len(ids)
            found.append(ids[local])
            found_jac.append(inter / (sizes[sets, None] + sizes[ids[local]] - inter))
        found, found_jac = np.hstack(found), np.hstack(found_jac)
        top = np.lexsort((found, -found_jac), axis=1)[:, :n_top]
        cand = first[np.take_along_axis(found, top, axis=1)].reshape(len(sets), -1)
        cand_jac = np.where(cand < n, np.repeat(np.take_along_axis(found_jac, top, axis=1), width, axis=1), -1.0)
        if cand.shape[1] < r:  # fewer images in non-empty sets than r: pad with nobodies
            pad = r - cand.shape[1]
            cand = np.hstack([cand, np.full((len(sets), pad), n)])
            cand_jac = np.hstack([cand_jac, np.full((len(sets), pad), -1.0)])
        order = np.lexsort((cand, -cand_jac), axis=1)[:, :r]
        best[start : start + block] = np.take_along_axis(cand, order, axis=1)
        best_jac[start : start + block] = np.take_along_axis(cand_jac, order, axis=1)
    row_of = np.full(n_sets, -1)
    row_of[active] = np.arange(len(active))
    images = np.flatnonzero(row_of[group] >= 0)
    lists, jacs = best[row_of[group[images]]], best_jac[row_of[group[images]]]
    drop = lists == images[:, None]
    drop[~drop.any(axis=1), r - 1] = True  # not among its set's r best: keep the first k
    # float64 division rounded to float32 equals float32 division (innocuous double rounding)
    return np.repeat(images, k), lists[~drop], jacs[~drop].astype(np.float32)


def _all_overlapping_pairs(x: np.ndarray, min_jaccard: float, block_entries: int) -> sp.csr_matrix:
    """Every pair of images whose sets overlap (x: images x labels), a block of rows at a time."""
    n = x.shape[0]
    sizes = x.sum(axis=1)
    block = max(1, block_entries // n)
    rows, cols, vals = [], [], []
    for start in range(0, n, block):
        inter = x[start : start + block] @ x.T
        union = sizes[start : start + block, None] + sizes[None, :] - inter
        jac = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        block_rows = np.arange(jac.shape[0])
        jac[block_rows, start + block_rows] = 0.0
        ok = (jac > 0) & (jac >= min_jaccard)
        i, j = np.nonzero(ok)
        rows.append(start + i)
        cols.append(j)
        vals.append(jac[i, j])
    adj = sp.csr_matrix(
        (np.concatenate(vals).astype(np.float64), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return adj.maximum(adj.T).tocsr()


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
        # Over-represented: carried by at least two members (one image proves nothing) and
        # at least 1.5 times as common here as in the corpus.
        over = sorted(
            (lab for lab in counts if counts[lab] >= min(2, size) and lift[lab] >= 1.5),
            key=lambda lab: (-lift[lab], -counts[lab], lab),
        )[:top_n]
        central = sorted(nodes, key=lambda v: (-pagerank.get(v, 0.0), v))[:top_n]
        summary = f"Community {community}: {size} image{'s' if size != 1 else ''}, " + (
            f"mostly {_join(top_labels[:3])}" if top_labels else "no labels"
        )
        summary += f"; keywords: {', '.join(words)}." if words else "."
        if over:
            summary += " Unusually often " + _join([f"{lab} ({lift[lab]:.1f}x)" for lab in over[:3]]) + "."
        if central:
            summary += f" Most central: {_join(central[:3])}."
        rows.append(
            [
                community,
                size,
                top_labels,
                over,
                [round(float(lift[lab]), 4) for lab in over],
                words,
                central,
                summary,
            ]
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _renumber_by_size(raw: dict, nodes: list) -> dict:
    """Community ids 0.. by decreasing size, ties to the community whose first node comes first."""
    members: dict = {}
    for node in nodes:
        members.setdefault(raw[node], []).append(node)
    order = sorted(members.values(), key=len, reverse=True)
    return {node: new_id for new_id, group in enumerate(order) for node in group}


def hierarchical_communities(G: nx.Graph, resolution: float, seed: int, max_cluster_size: int) -> list[dict]:
    """Hierarchical Leiden (graspologic): one full partition of every node per level.

    graspologic re-clusters only communities larger than `max_cluster_size`, so a node
    missing at a deeper level keeps the community it had one level up; isolated nodes
    (which graspologic leaves out) are communities of one. Level ids are renumbered by size
    like `leiden_communities`, so level 0 reads the same way as the flat partition.
    """
    from graspologic.partition import hierarchical_leiden

    nodes = list(G)
    if not nodes:
        return []
    by_level: dict[int, dict] = {}
    if G.number_of_edges():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*partitions do not contain all nodes.*")
            clusters = hierarchical_leiden(
                G, max_cluster_size=int(max_cluster_size), resolution=float(resolution), random_seed=int(seed)
            )
        for c in clusters:
            by_level.setdefault(int(c.level), {})[c.node] = int(c.cluster)
    levels = []
    previous: dict = {}
    fresh = 1 + max((v for level in by_level.values() for v in level.values()), default=-1)
    for level in sorted(by_level) or [0]:
        current = dict(previous)
        current.update(by_level.get(level, {}))
        for node in nodes:
            if node not in current:
                current[node], fresh = fresh, fresh + 1
        levels.append(_renumber_by_size(current, nodes))
        previous = current
    return levels


def bipartite_graph(node_labels: dict[str, list[str]], labels: list[str]) -> nx.Graph:
    """Images on one side (bipartite=0), the labels they carry on the other (bipartite=1, ids 'label:<id>')."""
    B = nx.Graph()
    B.add_nodes_from(node_labels, bipartite=0)
    B.add_nodes_from((f"label:{lab}" for lab in labels), bipartite=1)
    known = set(labels)
    B.add_edges_from(
        (node, f"label:{lab}", {"weight": 1.0})
        for node, labs in node_labels.items()
        for lab in dict.fromkeys(labs)
        if lab in known
    )
    return B


def label_projection(B: nx.Graph) -> nx.Graph:
    """Labels linked by the images they share, weighted by the Jaccard overlap of their image sets.

    Jaccard (not the raw count) keeps weights in (0, 1] like the image graphs, so frequent labels
    do not win every centrality by frequency alone and 1/weight distances stay comparable.
    """
    from networkx.algorithms import bipartite

    label_nodes = [v for v, side in B.nodes(data="bipartite") if side == 1]
    return bipartite.overlap_weighted_projected_graph(B, label_nodes, jaccard=True)


GRAPH_WRITERS = {"gexf": nx.write_gexf, "graphml": nx.write_graphml}


def export_graph(G: nx.Graph, paths: dict) -> None:
    """Writes G in each format of `paths` ({"gexf": path, "graphml": path}) for Gephi, each file
    through a temporary name; attributes must be scalars, lists are joined with '|'."""
    from pathlib import Path

    H = nx.Graph()
    for node, data in G.nodes(data=True):
        H.add_node(str(node), **{k: _scalar(v) for k, v in data.items() if v is not None})
    for u, v, data in G.edges(data=True):
        H.add_edge(str(u), str(v), **{k: _scalar(x) for k, x in data.items() if x is not None})
    for fmt, path in paths.items():
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        GRAPH_WRITERS[fmt](H, tmp)
        tmp.replace(path)


def _scalar(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return "|".join(str(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def force_layout(adj: sp.spmatrix, seed: int) -> np.ndarray:
    """2-D coordinates of the nodes from a weighted Fruchterman-Reingold layout (igraph, grid variant).

    A spectral map collapses a graph with several connected parts onto one point per part, and
    two eigenvectors cannot pull ten communities apart; a force layout keeps every community
    visible and puts related ones side by side. igraph's compiled grid variant lays out a 20k-image
    graph in about 2 s. Its random start comes from a generator seeded here, so the same graph
    gets the same map. Returns an array (n, 2).
    """
    import random

    import igraph as ig

    n = adj.shape[0]
    upper = _upper_edges(adj)
    if n < 2 or upper.nnz == 0:
        return np.zeros((n, 2))
    graph = ig.Graph(n=n, edges=np.column_stack([upper.row, upper.col]).tolist(), directed=False)
    # igraph draws from one process-wide generator (Python's `random` module unless replaced);
    # a seeded one is put in for this layout and the default put back after.
    ig.set_random_number_generator(random.Random(seed))
    try:
        layout = graph.layout_fruchterman_reingold(weights=upper.data.tolist(), grid="auto")
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(layout.coords, dtype=float)


def partition_agreement(a: dict, b: dict) -> dict:
    """ARI and NMI of two partitions over the nodes they share."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    shared = sorted(set(a) & set(b), key=str)
    if len(shared) < 2:
        return {"n_shared": len(shared), "ari": float("nan"), "nmi": float("nan")}
    x, y = [a[v] for v in shared], [b[v] for v in shared]
    return {
        "n_shared": len(shared),
        "ari": float(adjusted_rand_score(x, y)),
        "nmi": float(normalized_mutual_info_score(x, y)),
    }


def top_overlap(a: list, b: list) -> float:
    """Jaccard overlap of two top-n lists (1.0 when both are empty)."""
    sa, sb = set(a), set(b)
    return 1.0 if not sa | sb else len(sa & sb) / len(sa | sb)


def omnibus_divergence(
    adjacencies: list[sp.spmatrix], n_components: int = 4, seed: int = SAMPLE_SEED
) -> np.ndarray:
    """Per-node divergence across graphs on the same nodes, from a joint omnibus embedding.

    OmnibusEmbed puts every graph's nodes in one space, so a node's positions under two
    models can be compared directly; the score is its mean distance from its own centroid
    across models (0 where every model places it alike). Returns an array (n,).
    """
    n = adjacencies[0].shape[0]
    if len(adjacencies) < 2 or n < 3:
        return np.zeros(n)
    from graspologic.embed import OmnibusEmbed

    # Sparse in, sparse omnibus matrix: dense inputs would need (graphs x n)^2 floats, 13 GB for two
    # models at 20k images; the randomized SVD gives the same embedding from the sparse one.
    graphs = [
        sp.csr_array(sp.csr_matrix(a, dtype=np.float64).maximum(sp.csr_matrix(a, dtype=np.float64).T))
        for a in adjacencies
    ]
    d = max(1, min(n_components, n - 1))
    np.random.seed(seed)  # graspologic's randomized SVD draws from numpy's global state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        latent = OmnibusEmbed(n_components=d, algorithm="randomized", check_lcc=False).fit_transform(graphs)
    latent = latent[0] if isinstance(latent, tuple) else latent  # (graphs, n, d)
    centre = latent.mean(axis=0, keepdims=True)
    return np.linalg.norm(latent - centre, axis=2).mean(axis=0)
