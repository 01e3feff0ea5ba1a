"""A model's semantic network over all its images: caption similarity plus label overlap.

Edges come from a sparse kNN over caption embeddings and sparse label Jaccard, never from an
all-pairs Python loop, so the same code serves a workshop demo and a corpus.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.config import GraphConfig
from workbench_dagster.graphs import (
    centrality_frame,
    combine_graphs,
    knn_similarity_graph,
    label_jaccard_graph,
    leiden_communities,
    modularity,
    summarize_communities,
    to_networkx,
)

EDGE_COLUMNS = ["model", "source", "target", "weight", "caption_similarity", "label_jaccard"]
CENTRALITY_COLUMNS = ["model", "node", "batch", "degree", "strength", "betweenness", "eigenvector", "pagerank",
                      "closeness", "community"]
COMMUNITY_COLUMNS = ["model", "community", "size", "top_labels", "keywords", "central_images", "summary"]


def graph_nodes(captions: pd.DataFrame) -> pd.DataFrame:
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])]
    return ok.sort_values("image_id").drop_duplicates("image_id").reset_index(drop=True)


def build_semantic_graph(model: str, captions: pd.DataFrame, embeddings: pd.DataFrame, labels: list[str],
                         settings: GraphConfig) -> pd.DataFrame:
    nodes = graph_nodes(captions)
    ids = list(nodes["image_id"])
    if not ids:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    vectors_by_id = {
        i: v for i, v in zip(embeddings.loc[embeddings["source"] == "caption", "image_id"],
                             embeddings.loc[embeddings["source"] == "caption", "vector"])
    }
    dim = len(next(iter(vectors_by_id.values()))) if vectors_by_id else 1
    vectors = np.stack([np.asarray(vectors_by_id.get(i, np.zeros(dim)), dtype=np.float32) for i in ids])
    caption_graph = knn_similarity_graph(vectors, k=settings.k, min_similarity=settings.min_similarity)
    np.clip(caption_graph.data, -1.0, 1.0, out=caption_graph.data)  # float32 cosine of twins is 1 + 1e-7
    label_graph = label_jaccard_graph([list(x) for x in nodes["labels"]], labels)
    label_graph = _top_k_per_row(label_graph, settings.k)
    combined = combine_graphs([(caption_graph, settings.caption_weight), (label_graph, settings.label_weight)])
    np.clip(combined.data, 0.0, 1.0, out=combined.data)
    upper = combined.tocoo()
    keep = upper.row < upper.col
    rows, cols, weights = upper.row[keep], upper.col[keep], upper.data[keep]
    caption_sim = np.asarray(caption_graph[rows, cols]).ravel()
    label_sim = np.asarray(label_graph[rows, cols]).ravel()
    ids_arr = np.asarray(ids, dtype=object)
    return pd.DataFrame({
        "model": model, "source": ids_arr[rows], "target": ids_arr[cols], "weight": weights.astype(float),
        "caption_similarity": caption_sim.astype(float), "label_jaccard": label_sim.astype(float),
    }, columns=EDGE_COLUMNS)


def _top_k_per_row(adj, k: int):
    """Keep each node's k strongest label links (symmetrised), so identical label sets do not form a clique."""
    import scipy.sparse as sp

    adj = adj.tocsr()
    rows, cols, vals = [], [], []
    for i in range(adj.shape[0]):
        start, end = adj.indptr[i], adj.indptr[i + 1]
        if end == start:
            continue
        data, idx = adj.data[start:end], adj.indices[start:end]
        order = np.lexsort((idx, -data))[:k]
        rows.extend([i] * len(order))
        cols.extend(idx[order])
        vals.extend(data[order])
    kept = sp.csr_matrix((vals, (rows, cols)), shape=adj.shape)
    return kept.maximum(kept.T).tocsr()


def network_from_edges(nodes: list[str], edges: pd.DataFrame):
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(nodes)
    G.add_weighted_edges_from(edges[["source", "target", "weight"]].itertuples(index=False, name=None))
    return G


def centrality_and_communities(model: str, captions: pd.DataFrame, edges: pd.DataFrame,
                               settings: GraphConfig) -> tuple[pd.DataFrame, dict]:
    nodes = graph_nodes(captions)
    G = network_from_edges(list(nodes["image_id"]), edges)
    frame = centrality_frame(G)
    partition = leiden_communities(G, settings.resolution, settings.seed) if len(G) else {}
    frame["community"] = frame["node"].map(partition).astype("Int64")
    frame["batch"] = frame["node"].map(dict(zip(nodes["image_id"], nodes["batch"])))
    frame["model"] = model
    stats = {
        "nodes": G.number_of_nodes(), "edges": G.number_of_edges(),
        "communities": len(set(partition.values())), "modularity": modularity(G, partition),
        "betweenness_sample_k": frame.attrs.get("betweenness_k"),
    }
    return frame[CENTRALITY_COLUMNS], stats


def community_table(model: str, centrality: pd.DataFrame, captions: pd.DataFrame, texts: pd.DataFrame) -> pd.DataFrame:
    partition = {n: int(c) for n, c in zip(centrality["node"], centrality["community"]) if pd.notna(c)}
    node_labels = {i: list(l) for i, l in zip(captions["image_id"], captions["labels"])}
    usable = texts[texts["source"].isin(["caption", "comment"])]
    node_texts = usable.groupby("image_id")["lemmas"].apply(lambda s: " ".join(x for x in s if x)).to_dict()
    summary = summarize_communities(partition, centrality, node_labels, node_texts)
    summary.insert(0, "model", model)
    return summary[COMMUNITY_COLUMNS]


def network_figure(centrality: pd.DataFrame, edges: pd.DataFrame, title: str, seed: int = 7):
    """The network coloured by community, laid out by force direction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    G = network_from_edges(list(centrality["node"]), edges)
    fig, ax = plt.subplots(figsize=(6, 6))
    if len(G):
        pos = nx.spring_layout(G, seed=seed, weight="weight")
        community = dict(zip(centrality["node"], centrality["community"].fillna(-1).astype(int)))
        size = dict(zip(centrality["node"], centrality["pagerank"]))
        scale = 3000 / max(1, len(G))
        nx.draw_networkx_edges(G, pos, ax=ax, alpha=0.15, width=0.5)
        nx.draw_networkx_nodes(G, pos, ax=ax, node_color=[community[n] for n in G], cmap="tab20",
                               node_size=[20 + scale * size[n] * len(G) / 10 for n in G])
    ax.set_title(title)
    ax.axis("off")
    return fig
