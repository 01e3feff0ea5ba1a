"""Every registered variant from the planted corpus: its layers in the edge table, its communities."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from tests.helpers import SETTINGS, TAXONOMY, planted_corpus
from workbench_dagster.networks.tables import CENTRALITY_COLUMNS, EDGE_COLUMNS
from workbench_dagster.networks.variant_registry import BIPARTITE, LAYER_COLUMNS, VARIANT_LAYERS, VARIANTS
from workbench_dagster.networks.variants import build_semantic_graph


def test_every_variant_recovers_the_planted_partition(planted_pipeline):
    captions, _, _, truth, _, edges, centrality, stats = planted_pipeline
    assert list(edges.columns) == EDGE_COLUMNS and list(centrality.columns) == CENTRALITY_COLUMNS
    assert set(edges["variant"]) == {*SETTINGS.variants, BIPARTITE}
    assert (edges.loc[edges["variant"] == "labels", ["caption_similarity", "comment_similarity"]] == 0).all().all()
    assert (edges.loc[edges["variant"] == "labels", "visual_similarity"] > 0).any()
    full = edges[edges["variant"] == "labels_captions_comments"]
    assert (full["comment_similarity"] > 0).any() and (full["caption_similarity"] > 0).any()
    assert edges["weight"].between(0, 1).all()
    truth_of = dict(zip(captions["image_id"], truth))
    for variant in SETTINGS.variants:
        table = centrality[centrality["variant"] == variant]
        assert len(table) == len(truth) and set(table["node_type"]) == {"image"}
        ari = adjusted_rand_score([truth_of[n] for n in table["node"]], table["community"].astype(int))
        assert ari >= 0.9, (variant, ari)
        assert stats[variant]["modularity"] > 0.5


def test_label_only_variant_without_visual_features():
    captions, embeddings, _, truth, _ = planted_corpus(seed=1)
    edges = build_semantic_graph("m2", captions, embeddings, TAXONOMY, SETTINGS, visual=None)
    labels = edges[edges["variant"] == "labels"]
    assert (labels["visual_similarity"] == 0).all()
    assert np.allclose(labels["weight"], labels["label_jaccard"])  # a single layer: its own weight


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_is_the_weighted_average_of_exactly_its_layers(planted_pipeline, variant):
    edges = planted_pipeline[5]
    mine = edges[edges["variant"] == variant]
    assert len(mine), variant
    for layer, column in LAYER_COLUMNS.items():
        assert (mine[column] > 0).any() == (layer in VARIANT_LAYERS[variant]), (variant, layer)
    weights = SETTINGS.layer_weights.model_dump()
    used = [layer for layer in VARIANT_LAYERS[variant] if weights[layer] > 0]
    average = sum(weights[layer] * mine[LAYER_COLUMNS[layer]] for layer in used) / sum(weights[la] for la in used)
    np.testing.assert_allclose(mine["weight"], average.clip(0, 1), atol=1e-12)
