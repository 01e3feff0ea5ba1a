from pathlib import Path

import numpy as np
import pytest

from workbench_dagster.text.embeddings import TextEmbedder, resolve_embedder_path

PACKAGED = "packaged:all-MiniLM-L6-v2"


def test_packaged_name_resolves_to_the_shipped_model(tmp_path):
    path = Path(resolve_embedder_path(PACKAGED))
    assert (path / "modules.json").is_file()
    assert resolve_embedder_path(str(tmp_path)) == str(tmp_path)
    assert (
        resolve_embedder_path("sentence-transformers/all-mpnet-base-v2")
        == "sentence-transformers/all-mpnet-base-v2"
    )
    with pytest.raises(ValueError, match="unknown packaged embedder"):
        resolve_embedder_path("packaged:no-such-model")


@pytest.fixture(scope="module")
def embedder():
    return TextEmbedder(PACKAGED, "cpu")


def test_vectors_are_normalised_384_dim_float32(embedder):
    vectors = embedder.encode(
        ["A protest march with banners.", "Lit candles at a vigil.", "A flyer in Spanish."], batch_size=2
    )
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dim == 384


def test_empty_input_keeps_the_width(embedder):
    empty = embedder.encode([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


def test_paraphrases_are_closer_than_unrelated_sentences(embedder):
    a, b, c = embedder.encode(
        [
            "Hundreds of people march through the city holding banners.",
            "A large crowd walks down the street carrying protest banners.",
            "The recipe needs two cups of flour and a pinch of salt.",
        ]
    )
    assert a @ b > a @ c + 0.3
    assert a @ b > b @ c + 0.3


def test_model_is_loaded_once_per_name_and_device(embedder):
    assert TextEmbedder(PACKAGED, "cpu").model is embedder.model


MIXED = [
    "A crowd marching with banners in the square.",
    "protest, signs and banners",
    "¡Viva la libertad! #FreeAtropia ✊",
    "A small group holds a flyer in Spanish near the monument at night, with candles on the ground everywhere.",
    *(" ".join(f"word{j}" for j in range(i)) for i in range(1, 60, 4)),
    "long " * 300,  # truncated at the model's maximum length
]


def test_a_text_gets_the_same_bits_alone_in_any_batch_and_in_any_company(embedder):
    """A rerun re-embeds part of a batch with other texts around it (issue 13, finding 9)."""
    together = embedder.encode(MIXED, batch_size=64)
    alone = np.stack([embedder.encode([text])[0] for text in MIXED])
    reversed_small = embedder.encode(MIXED[::-1], batch_size=3)[::-1]
    among_others = embedder.encode(["a completely different sentence, much longer than most", *MIXED], 5)[1:]
    for other in (alone, reversed_small, among_others):
        np.testing.assert_array_equal(together, other)


def test_the_callers_thread_count_changes_no_bit_and_is_put_back(embedder):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = [embedder.encode([text]) for text in MIXED]  # one text: shapes where the thread count showed
        assert torch.get_num_threads() == 1
        torch.set_num_threads(2)
        two = [embedder.encode([text]) for text in MIXED]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
