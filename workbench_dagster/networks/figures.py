"""Pictures of a model's network for the Dagster UI: the graph on its map, and the map tagged by community."""

from __future__ import annotations

import pandas as pd

from workbench_dagster.networks.adjacency import network_from_edges


def network_figure(centrality: pd.DataFrame, edges: pd.DataFrame, title: str):
    """The network on its stored map positions (`x`, `y`), nodes coloured by community and sized by PageRank;
    edges are drawn up to 50,000 of them, beyond which they are only a grey fog."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    G = network_from_edges(list(centrality["node"]), edges)
    fig, ax = plt.subplots(figsize=(6, 6))
    if len(G):
        pos = {n: (x, y) for n, x, y in zip(centrality["node"], centrality["x"], centrality["y"])}
        community = dict(zip(centrality["node"], centrality["community"].fillna(-1).astype(int)))
        size = dict(zip(centrality["node"], centrality["pagerank"]))
        if G.number_of_edges() <= 50_000:
            nx.draw_networkx_edges(G, pos, ax=ax, alpha=0.15, width=0.5)
        nx.draw_networkx_nodes(
            G,
            pos,
            ax=ax,
            node_color=[community[n] for n in G],
            cmap="tab20",
            node_size=[20 + 30 * size[n] * len(G) for n in G],
        )
    ax.set_title(title)
    ax.axis("off")
    return fig


MAP_TAGS = 15  # communities named on the map, largest first


def map_figure(centrality: pd.DataFrame, title: str):
    """The 2-D map of the nodes coloured by community, the largest communities tagged with their id at
    their median position, so a reader can go from a cluster on the map to its card in `communities`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    if len(centrality):
        community = centrality["community"].fillna(-1).astype(int)
        ax.scatter(centrality["x"], centrality["y"], c=community, cmap="tab20", s=12, alpha=0.8)
        for c in community.value_counts().index[:MAP_TAGS]:
            members = centrality[community == c]
            ax.annotate(
                f"C{c}",
                (members["x"].median(), members["y"].median()),
                ha="center",
                va="center",
                fontsize=9,
                weight="bold",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7},
            )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
