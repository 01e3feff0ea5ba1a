"""Columns of the network stage's tables, read by the code that builds them and by the warehouse rules."""

from __future__ import annotations

from workbench_dagster.networks.variant_registry import LAYER_COLUMNS

EDGE_COLUMNS = ["model", "variant", "source", "target", "weight", *LAYER_COLUMNS.values()]
CENTRALITY_COLUMNS = [
    "model",
    "variant",
    "node",
    "node_type",
    "batch",
    "degree",
    "strength",
    "betweenness",
    "eigenvector",
    "pagerank",
    "closeness",
    "community",
    "hierarchy",
    "x",
    "y",
]
# What a community card says (community_cards.py), inside its summary and in the stored table.
CARD_COLUMNS = ["top_labels", "overrepresented_labels", "label_lift", "keywords", "central_images", "summary"]
SUMMARY_COLUMNS = ["community", "size", *CARD_COLUMNS]
COMMUNITY_COLUMNS = [
    "model",
    "variant",
    "level",
    "community",
    "parent",
    "size",
    "modularity",
    *CARD_COLUMNS,
    "summary_source",
    "summary_error",
]
NETWORK_COMPARISON_COLUMNS = [
    "variant",
    "model_a",
    "model_b",
    "n_shared",
    "ari",
    "nmi",
    "top_image_overlap",
    "top_label_overlap",
]
DIVERGENCE_COLUMNS = ["variant", "image_id", "n_models", "divergence", "divergence_rank"]
