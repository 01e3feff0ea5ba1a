"""A model's narrative networks over all its images, one per variant of variant_registry.py.

Each image-image variant averages its similarity layers (layers.py) with the weights in
`graph.layer_weights`. The layer columns of the edge table are the multiplex view (one layer
per column, 0 where a pair is not among either end's k nearest in that layer); `image_label`
rows are the image-label bipartite graph.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd

from workbench_dagster.networks.adjacency import network_from_edges
from workbench_dagster.networks.bipartite import label_projection
from workbench_dagster.networks.centrality import centrality_frame
from workbench_dagster.networks.communities import hierarchical_communities, leiden_communities, modularity
from workbench_dagster.networks.edge_rows import edge_table
from workbench_dagster.networks.layers import layer_graphs
from workbench_dagster.networks.layout import force_layout
from workbench_dagster.networks.tables import CENTRALITY_COLUMNS, EDGE_COLUMNS
from workbench_dagster.networks.variant_registry import BIPARTITE
from workbench_dagster.scenario.config import GraphConfig


def graph_nodes(captions: pd.DataFrame) -> pd.DataFrame:
    """The images a network is made of: one row each, in id order; unparsable captions say nothing to link."""
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])]
    return ok.sort_values("image_id").drop_duplicates("image_id").reset_index(drop=True)


def build_semantic_graph(
    model: str,
    captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
    settings: GraphConfig,
    visual: dict | None = None,
) -> pd.DataFrame:
    """Edges of every configured variant plus the image-label bipartite edges, one table."""
    nodes = graph_nodes(captions)
    ids = list(nodes["image_id"])
    if not ids:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    label_sets = [list(x) for x in nodes["labels"]]
    layers = layer_graphs(ids, label_sets, embeddings, labels, settings, visual)
    return edge_table(model, ids, label_sets, layers, labels, settings)


def build_semantic_graph_incremental(
    model: str,
    captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
    settings: GraphConfig,
    visual: dict | None,
    state_dir: Path,
) -> tuple[pd.DataFrame, dict]:
    """`build_semantic_graph`, with each layer grown from the neighbour lists of the last build kept in
    `state_dir` when they allow (incremental.py), and a report of how each layer was built."""
    from workbench_dagster.networks.incremental import layer_graphs_with_state

    nodes = graph_nodes(captions)
    ids = list(nodes["image_id"])
    if not ids:
        return pd.DataFrame(columns=EDGE_COLUMNS), {"mode": "full", "new_nodes": 0, "reasons": {"all": "no nodes"}}
    label_sets = [list(x) for x in nodes["labels"]]
    layers, per_layer = layer_graphs_with_state(ids, label_sets, embeddings, labels, settings, visual, state_dir)
    full = {name: r["reason"] for name, r in per_layer.items() if r["mode"] == "full"}
    report = {
        "mode": "full" if full else "incremental",
        "new_nodes": max(r.get("new_nodes", len(ids)) for r in per_layer.values()),
        "reasons": full,
        "layers": per_layer,
    }
    return edge_table(model, ids, label_sets, layers, labels, settings), report


def _variant_graph(variant: str, nodes: pd.DataFrame, edges: pd.DataFrame):
    """The graph whose nodes the centrality table describes: images, or labels for the bipartite variant."""
    mine = edges[edges["variant"] == variant]
    if variant != BIPARTITE:
        return network_from_edges(list(nodes["image_id"]), mine), "image"
    B = nx.Graph()
    B.add_nodes_from(nodes["image_id"], bipartite=0)
    B.add_nodes_from(sorted(set(mine["target"])), bipartite=1)
    B.add_edges_from(mine[["source", "target"]].itertuples(index=False, name=None), weight=1.0)
    P = label_projection(B)
    return nx.relabel_nodes(P, {v: v.removeprefix("label:") for v in P}), "label"


def graph_variants(edges: pd.DataFrame) -> list[str]:
    """The variants present in an edge table, in table order, the bipartite one last."""
    present = list(dict.fromkeys(edges["variant"])) if len(edges) else []
    return [v for v in present if v != BIPARTITE] + ([BIPARTITE] if BIPARTITE in present else [])


def centrality_and_communities(
    model: str, captions: pd.DataFrame, edges: pd.DataFrame, settings: GraphConfig
) -> tuple[pd.DataFrame, dict]:
    """Centralities, flat seeded Leiden and hierarchical Leiden per variant, plus a 2-D map of the nodes."""
    nodes = graph_nodes(captions)
    batch_of = dict(zip(nodes["image_id"], nodes["batch"]))
    frames, stats = [], {}
    for variant in graph_variants(edges):
        G, node_type = _variant_graph(variant, nodes, edges)
        frame = centrality_frame(G)
        partition = leiden_communities(G, settings.resolution, settings.seed) if len(G) else {}
        levels = hierarchical_communities(G, settings.resolution, settings.seed, settings.max_cluster_size)
        frame["community"] = frame["node"].map(partition).astype("Int64")
        frame["hierarchy"] = [[int(level[v]) for level in levels] for v in frame["node"]]
        order = list(frame["node"])
        coords = force_layout(
            nx.to_scipy_sparse_array(G, nodelist=order, weight="weight", format="csr"), settings.seed
        )
        frame["x"], frame["y"] = coords[:, 0], coords[:, 1]
        frame["node"] = frame["node"].astype(str)
        frame["batch"] = frame["node"].map(batch_of) if node_type == "image" else None
        frame["node_type"], frame["variant"], frame["model"] = node_type, variant, model
        frames.append(frame[CENTRALITY_COLUMNS])
        stats[variant] = {
            "nodes": G.number_of_nodes(),
            "edges": G.number_of_edges(),
            "communities": len(set(partition.values())),
            "modularity": round(modularity(G, partition), 4),
            "hierarchy_levels": len(levels),
            "betweenness_sample_k": frame.attrs.get("betweenness_k"),
        }
    if not frames:
        return pd.DataFrame(columns=CENTRALITY_COLUMNS), stats
    return pd.concat(frames, ignore_index=True), stats
