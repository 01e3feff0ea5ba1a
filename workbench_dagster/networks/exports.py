"""Every variant of a model's network as GEXF and GraphML files, for Gephi."""

from __future__ import annotations

import io

import networkx as nx
import numpy as np
import pandas as pd
from upath import UPath

from workbench_dagster.networks.adjacency import network_from_edges
from workbench_dagster.networks.bipartite import bipartite_graph
from workbench_dagster.networks.variant_registry import BIPARTITE, LAYER_COLUMNS
from workbench_dagster.networks.variants import graph_nodes, graph_variants
from workbench_dagster.storage.atomic import write_bytes_atomic

GRAPH_WRITERS = {"gexf": nx.write_gexf, "graphml": nx.write_graphml}


def export_graph(G: nx.Graph, paths: dict) -> None:
    """Writes G in each format of `paths` ({"gexf": path, "graphml": path}) for Gephi, each file
    through a temporary name; attributes must be scalars, lists are joined with '|'."""
    H = nx.Graph()
    for node, data in G.nodes(data=True):
        H.add_node(str(node), **{k: _scalar(v) for k, v in data.items() if v is not None})
    for u, v, data in G.edges(data=True):
        H.add_edge(str(u), str(v), **{k: _scalar(x) for k, x in data.items() if x is not None})
    for fmt, path in paths.items():
        buffer = io.BytesIO()
        GRAPH_WRITERS[fmt](H, buffer)
        write_bytes_atomic(UPath(path), buffer.getvalue())  # a local folder or an object store


def _scalar(value):
    """GEXF and GraphML hold scalar attributes only."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "|".join(str(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def export_networks(
    model: str,
    captions: pd.DataFrame,
    edges: pd.DataFrame,
    centrality: pd.DataFrame,
    folder,
    formats=("gexf", "graphml"),
) -> dict[str, dict[str, str]]:
    """Each variant as <folder>/<model>/<variant>.<format> (GEXF, GraphML), node attributes from the
    centrality table. Files of formats or variants no longer configured are removed, so Gephi never
    opens a stale graph. Returns {variant: {format: path}}; nothing when `formats` is empty."""
    paths = _write_exports(model, captions, edges, centrality, folder, formats) if formats else {}
    written = {path for files in paths.values() for path in files.values()}
    for old in (UPath(folder) / model).glob("*"):
        if old.suffix in (".gexf", ".graphml") and str(old) not in written:
            old.unlink()
    return paths


def _write_exports(
    model: str, captions: pd.DataFrame, edges: pd.DataFrame, centrality: pd.DataFrame, folder, formats
) -> dict[str, dict[str, str]]:
    nodes = graph_nodes(captions)
    paths = {}
    for variant in graph_variants(edges):
        mine = edges[edges["variant"] == variant]
        attributes = centrality[centrality["variant"] == variant].set_index("node")
        build = _bipartite_file_graph if variant == BIPARTITE else _image_file_graph
        paths[variant] = {fmt: str(UPath(folder) / model / f"{variant}.{fmt}") for fmt in formats}
        export_graph(build(nodes, mine, attributes), paths[variant])
    return paths


def _bipartite_file_graph(nodes: pd.DataFrame, mine: pd.DataFrame, attributes: pd.DataFrame) -> nx.Graph:
    """Images and labels together, the labels carrying their community and PageRank in the label projection."""
    labels_of = dict(zip(nodes["image_id"], nodes["labels"]))
    G = bipartite_graph(
        {i: list(labels_of[i]) for i in nodes["image_id"]},
        sorted(t.removeprefix("label:") for t in set(mine["target"])),
    )
    for node in G:
        G.nodes[node]["node_type"] = "label" if str(node).startswith("label:") else "image"
        key = str(node).removeprefix("label:")
        if G.nodes[node]["node_type"] == "label" and key in attributes.index:
            G.nodes[node].update(
                community=int(attributes.loc[key, "community"]),
                pagerank=float(attributes.loc[key, "pagerank"]),
            )
    return G


def _image_file_graph(nodes: pd.DataFrame, mine: pd.DataFrame, attributes: pd.DataFrame) -> nx.Graph:
    """The image graph with each edge's layer weights and each image's batch, labels, community and map position."""
    labels_of = dict(zip(nodes["image_id"], nodes["labels"]))
    batch_of = dict(zip(nodes["image_id"], nodes["batch"]))
    G = network_from_edges(list(nodes["image_id"]), mine)
    for row in mine.itertuples(index=False):
        G.edges[row.source, row.target].update({c: float(getattr(row, c)) for c in LAYER_COLUMNS.values()})
    for node in G:
        a = attributes.loc[node] if node in attributes.index else None
        G.nodes[node].update(
            node_type="image", batch=str(batch_of.get(node)), labels=list(labels_of.get(node, []))
        )
        if a is not None:
            G.nodes[node].update(
                community=int(a["community"]),
                pagerank=float(a["pagerank"]),
                betweenness=float(a["betweenness"]),
                x=float(a["x"]),
                y=float(a["y"]),
            )
    return G
