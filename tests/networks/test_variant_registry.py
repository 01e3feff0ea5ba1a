"""The variant registry is the config's vocabulary: its names are what `graph.variants` accepts."""

import pytest
from pydantic import ValidationError

from workbench_dagster.networks.variant_registry import BIPARTITE, LAYER_COLUMNS, VARIANT_LAYERS, VARIANTS
from workbench_dagster.scenario.config import GraphConfig, LayerWeights


def test_every_variant_averages_declared_layers_including_labels():
    for variant, layers in VARIANT_LAYERS.items():
        assert layers and set(layers) <= set(LAYER_COLUMNS), variant
        assert len(set(layers)) == len(layers), variant
        assert "label" in layers, variant  # what the config's rule layer_weights.label > 0 relies on
    assert BIPARTITE not in VARIANT_LAYERS
    assert set(LayerWeights.model_fields) == set(LAYER_COLUMNS)  # every layer has a weight


def test_config_accepts_exactly_the_registered_variants():
    assert GraphConfig().variants == list(VARIANTS)
    for variant in VARIANTS:
        assert GraphConfig(variants=[variant]).variants == [variant]
    with pytest.raises(ValidationError, match=VARIANTS[0]):
        GraphConfig(variants=[BIPARTITE])  # stored beside the variants, but always built, never configured


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"variants": ["labels", "labels"]}, "distinct"),
        ({"variants": ["captions_only"]}, "labels_captions"),
        ({"variants": []}, "at least 1"),
        ({"layer_weights": {"label": 0}}, "layer_weights.label"),
        ({"layer_weights": {"caption": -1}}, "greater than or equal to 0"),
        ({"layer_weights": {"audio": 1}}, "Extra inputs"),
        ({"exports": ["gexf", "gexf"]}, "distinct"),
        ({"exports": ["pajek"]}, "gexf"),
    ],
)
def test_graph_config_rejects_bad_variants_and_weights(bad, message):
    with pytest.raises(ValidationError, match=message):
        GraphConfig(**bad)
