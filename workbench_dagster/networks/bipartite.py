"""The image-label bipartite graph and its projection onto labels.

The projection is what the `image_label` variant's centralities and communities describe:
which labels travel together across images.
"""

from __future__ import annotations

import networkx as nx


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
