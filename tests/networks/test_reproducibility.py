"""The same inputs give the same networks bit for bit, also when the vectors were re-embedded (issue 13, finding 9).

A rerun re-embeds the texts the cache lacks, in other batches than the first run; the vectors
then differed by 1e-7, which flipped kNN ties and moved Leiden communities.
"""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import SETTINGS, TAXONOMY
from workbench_dagster.networks.variants import build_semantic_graph, centrality_and_communities


def network_stage(captions: pd.DataFrame, embeddings: pd.DataFrame, visual: dict | None):
    edges = build_semantic_graph("m1", captions, embeddings, TAXONOMY, SETTINGS, visual)
    centrality, _ = centrality_and_communities("m1", captions, edges, SETTINGS)
    return edges, centrality[["variant", "node", "community", "hierarchy"]]


def assert_same_networks(first, second):
    (edges_a, communities_a), (edges_b, communities_b) = first, second
    pd.testing.assert_frame_equal(edges_a, edges_b, check_exact=True)  # edge set and weights, bit for bit
    pd.testing.assert_frame_equal(communities_a, communities_b, check_exact=True)


def sign_corpus(n_per_cluster=60, n_clusters=4, dim=16, seed=0):
    """Planted clusters of unit vectors with entries +-1/4: every cosine is a multiple of 1/8,
    so hundreds of neighbours tie exactly, as the twins of templated captions do."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_clusters), n_per_cluster)
    centers = rng.choice([-1.0, 1.0], size=(n_clusters, dim))
    ids = [f"b0-img{i:03d}" for i in range(len(truth))]

    def layer() -> np.ndarray:
        signs = np.where(rng.random((len(truth), dim)) < 0.15, -1.0, 1.0)
        return (0.25 * centers[truth] * signs).astype(np.float32)

    labels = [[TAXONOMY[3 * c], TAXONOMY[3 * c + 1]] for c in truth]
    captions = pd.DataFrame({"image_id": ids, "batch": "b0", "labels": labels, "parse_status": "ok"})
    vectors = {"caption": layer(), "comment": layer(), "visual": layer()}
    return captions, ids, vectors


def perturbed(ids, vectors, seed):
    """Each vector moved by up to 1e-7 per entry, the size of the re-embedding noise the finding measured."""
    rng = np.random.default_rng(seed)
    moved = {name: v + rng.uniform(-1e-7, 1e-7, v.shape).astype(np.float32) for name, v in vectors.items()}
    rows = [
        {"image_id": i, "source": s, "vector": moved[s][n]}
        for s in ("caption", "comment")
        for n, i in enumerate(ids)
    ]
    return pd.DataFrame(rows), dict(zip(ids, moved["visual"]))


def test_vectors_moved_by_1e7_give_the_same_edges_and_communities():
    """Cosines are ranked and thresholded at 6 decimals; here the noise moves each cosine by far
    less than the 5e-7 that would carry it across a rounding boundary, so nothing may change."""
    captions, ids, vectors = sign_corpus()
    first = network_stage(captions, *perturbed(ids, vectors, seed=1))
    second = network_stage(captions, *perturbed(ids, vectors, seed=2))
    assert len(first[0]) > 0 and first[1]["community"].nunique() > 1
    assert_same_networks(first, second)
    assert_same_networks(first, network_stage(captions, *perturbed(ids, vectors, seed=1)))  # same inputs


TEMPLATES = [
    "An image showing {}.",
    "A crowd with {} in the main square at night.",
    "{}",
    "A small group near the monument; {} are visible, with candles and many people around them.",
]
THINGS = ["protest", "signs and banners", "a flyer in Spanish", "solidarity", "a march", "police lines"]


@pytest.fixture(scope="module")
def embedder():
    from workbench_dagster.text.embeddings import TextEmbedder

    return TextEmbedder("packaged:all-MiniLM-L6-v2", "cpu")


def test_the_network_stage_twice_from_re_embedded_captions(embedder):
    """Templated captions (many twins, many token lengths), embedded once all together and once
    in another order and batch size, as a rerun with a partly empty cache would."""
    from workbench_dagster.text.corpus import embed_texts

    rng = np.random.default_rng(3)
    n = 160
    ids = [f"b0-img{i:03d}" for i in range(n)]
    text = [TEMPLATES[rng.integers(len(TEMPLATES))].format(THINGS[rng.integers(len(THINGS))]) for _ in ids]
    texts = pd.DataFrame({"text_id": ids, "image_id": ids, "batch": "b0", "model": "m1", "source": "caption"})
    texts["text"] = text
    labels = [[TAXONOMY[rng.integers(6)], TAXONOMY[6 + rng.integers(6)]] for _ in ids]
    captions = pd.DataFrame({"image_id": ids, "batch": "b0", "labels": labels, "parse_status": "ok"})
    first, _ = embed_texts(texts, embedder, "minilm", batch_size=64)
    order = rng.permutation(n)
    again, _ = embed_texts(texts.iloc[order], embedder, "minilm", batch_size=5)
    again = again.set_index("text_id").loc[ids].reset_index()[first.columns]
    assert_same_networks(network_stage(captions, first, None), network_stage(captions, again, None))
