"""Pictures of a model's network for the Dagster UI: the graph on its map, and the map tagged by community.

Both colour a community the same way (`community_colour`) and carry the same legend: the largest
communities, each with its size and its most common labels, so a reader can name a cluster on the
picture without opening the `communities` table.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from workbench_dagster.networks.adjacency import network_from_edges
from workbench_dagster.thumbnails import INLINE_LIMIT

LEGEND_COMMUNITIES = 10  # communities in the legend, largest first
LEGEND_LABELS = 3  # labels named per community
MAP_TAGS = 15  # communities tagged with their id on the map, largest first


def community_colour(community: int):
    """tab20 by community id (so C3 is the same colour on every picture of a run); grey for no community."""
    import matplotlib

    return matplotlib.colormaps["tab20"](community % 20) if community >= 0 else (0.6, 0.6, 0.6, 1.0)


def _communities(centrality: pd.DataFrame) -> pd.Series:
    return centrality["community"].fillna(-1).astype(int)


def community_legend(
    centrality: pd.DataFrame, node_labels: dict[str, list[str]], n: int = LEGEND_COMMUNITIES
) -> list[tuple[int, str]]:
    """`(community, text)` for the `n` largest communities (ties by id): `C3 (41): car, road, sign`,
    the labels ranked by how many members carry them (ties by name), as in the community cards."""
    community = _communities(centrality)
    sizes = community[community >= 0].value_counts()
    order = sorted(sizes.index, key=lambda c: (-sizes[c], c))[:n]
    entries = []
    for c in order:
        members = centrality.loc[community == c, "node"]
        counts = Counter(label for node in members for label in set(node_labels.get(node, [])))
        top = sorted(counts, key=lambda label: (-counts[label], label))[:LEGEND_LABELS]
        entries.append((int(c), f"C{c} ({sizes[c]}): " + (", ".join(top) if top else "no labels")))
    return entries


def _draw_legend(ax, centrality: pd.DataFrame, node_labels: dict[str, list[str]] | None) -> None:
    """The legend under the picture, so it never hides a node."""
    from matplotlib.patches import Patch

    entries = community_legend(centrality, node_labels or {})
    if not entries:
        return
    handles = [Patch(color=community_colour(c), label=text) for c, text in entries]
    rest = int(_communities(centrality).nunique()) - len(entries)
    title = "largest communities: size, most common labels" + (f" ({rest} more not shown)" if rest > 0 else "")
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=2,
        fontsize=7,
        title=title,
        title_fontsize=7,
        frameon=False,
    )


def network_figure(
    centrality: pd.DataFrame, edges: pd.DataFrame, title: str, node_labels: dict[str, list[str]] | None = None
):
    """The network on its stored map positions (`x`, `y`), nodes coloured by community and sized by PageRank;
    edges are drawn up to 50,000 of them, beyond which they are only a grey fog. `node_labels` (node ->
    its caption's labels) names each community's top labels in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    G = network_from_edges(list(centrality["node"]), edges)
    fig, ax = plt.subplots(figsize=(6, 6))
    if len(G):
        pos = {n: (x, y) for n, x, y in zip(centrality["node"], centrality["x"], centrality["y"])}
        community = dict(zip(centrality["node"], _communities(centrality)))
        size = dict(zip(centrality["node"], centrality["pagerank"]))
        if G.number_of_edges() <= 50_000:
            nx.draw_networkx_edges(G, pos, ax=ax, alpha=0.15, width=0.5)
        nx.draw_networkx_nodes(
            G,
            pos,
            ax=ax,
            node_color=[community_colour(community[n]) for n in G],
            node_size=[20 + 30 * size[n] * len(G) for n in G],
        )
        _draw_legend(ax, centrality, node_labels)
    ax.set_title(title)
    ax.axis("off")
    return fig


def map_figure(centrality: pd.DataFrame, title: str, node_labels: dict[str, list[str]] | None = None):
    """The 2-D map of the nodes coloured by community, the largest communities tagged with their id at
    their median position, so a reader can go from a cluster on the map to its card in `communities`;
    the legend names each community's top labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    if len(centrality):
        community = _communities(centrality)
        ax.scatter(centrality["x"], centrality["y"], c=[community_colour(c) for c in community], s=12, alpha=0.8)
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
        _draw_legend(ax, centrality, node_labels)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def map_thumbnail(centrality: pd.DataFrame, alt: str, limit: int = INLINE_LIMIT) -> bytes | None:
    """The map as coloured dots small enough to show inline in the UI (thumbnails.py), in the colours of
    `map_figure`; None when the map is too detailed to fit under `limit` characters of Markdown."""
    from workbench_dagster.thumbnails import fitting_png, scatter_blocks

    colours = [community_colour(c) for c in _communities(centrality)]
    return fitting_png(scatter_blocks(centrality["x"], centrality["y"], colours), alt, limit)


def legend_line(centrality: pd.DataFrame, node_labels: dict[str, list[str]], n: int = 4, width: int = 300) -> str:
    """The legend's largest `n` communities on one line, cut at `width` characters: what a thumbnail
    says under it in the UI."""
    line = " · ".join(text for _, text in community_legend(centrality, node_labels, n))
    return line if len(line) <= width else line[: width - 1] + "…"
