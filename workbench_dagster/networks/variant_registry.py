"""The one list of network variants and the similarity layers each averages.

The config's allowed `graph.variants`, their default, the edge table's layer columns and the
network code all read this module, so a variant is added here and nowhere else. It imports
nothing, so that `scenario/config.py` can validate names without loading numpy or networkx.
"""

from __future__ import annotations

# layer -> its column in the edge table (the multiplex view); the layers themselves are built
# in variants.layer_graphs and weighted by `graph.layer_weights`.
LAYER_COLUMNS = {
    "visual": "visual_similarity",  # the baseline's penultimate layer, for baseline models only
    "label": "label_jaccard",
    "caption": "caption_similarity",
    "comment": "comment_similarity",  # the images' mean comment embeddings
}

# variant -> the layers averaged into its edges. Every variant carries "label": it is the one
# layer every model has, which is why the config requires layer_weights.label > 0.
VARIANT_LAYERS = {
    "labels": ("visual", "label"),
    "labels_captions": ("visual", "label", "caption"),
    "labels_captions_comments": ("visual", "label", "caption", "comment"),
}
VARIANTS = tuple(VARIANT_LAYERS)

# The image-label bipartite graph, stored beside the variants in the edge table; its
# centralities and communities are those of the label projection.
BIPARTITE = "image_label"
