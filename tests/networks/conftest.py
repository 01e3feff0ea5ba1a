"""The planted corpus through the whole network stage once, shared by the tests of its steps."""

import pytest

from tests.helpers import SETTINGS, TAXONOMY, planted_corpus
from workbench_dagster.networks.variants import build_semantic_graph, centrality_and_communities


@pytest.fixture(scope="session")
def planted_pipeline():
    captions, embeddings, visual, truth, texts = planted_corpus()
    edges = build_semantic_graph("m1", captions, embeddings, TAXONOMY, SETTINGS, visual)
    centrality, stats = centrality_and_communities("m1", captions, edges, SETTINGS)
    return captions, embeddings, visual, truth, texts, edges, centrality, stats
