"""Adding a batch grows the layers' neighbour lists instead of searching the corpus again, and the
networks are the full build's bit for bit (issue 11, item 3); whatever breaks that falls back to a
full build and says why."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import TAXONOMY
from workbench_dagster.networks.knn import canonical_similarities, exact_neighbours
from workbench_dagster.networks.variant_registry import VARIANTS
from workbench_dagster.networks.variants import build_semantic_graph, build_semantic_graph_incremental
from workbench_dagster.scenario.config import GraphConfig

SETTINGS = GraphConfig(k=6, min_similarity=0.1)


def corpus(n: int, dim: int, signs: bool, seed: int = 0):
    """n images in batches b0..b3 interleaved in id order: label sets from a few templates (many ties,
    some empty), vectors either +-1/4 entries (every cosine a multiple of 1/8: ties everywhere,
    twins) or Gaussian (BLAS rounding noise at every position); some images have no comment."""
    rng = np.random.default_rng(seed)
    ids = [f"img{i:04d}-b{i % 4}" for i in range(n)]
    theme = rng.integers(0, 5, n)
    templates = [TAXONOMY[:2], TAXONOMY[1:4], [TAXONOMY[5]], [], TAXONOMY[6:9]]
    labels = [list(templates[t]) + ([TAXONOMY[10]] if rng.random() < 0.2 else []) for t in theme]

    def layer(d: int) -> np.ndarray:
        centers = rng.choice([-1.0, 1.0], size=(5, d))
        if signs:
            flips = np.where(rng.random((n, d)) < 0.2, -1.0, 1.0)
            return (0.25 * centers[theme] * flips).astype(np.float32)
        return (centers[theme] + 1.5 * rng.normal(size=(n, d))).astype(np.float32)

    caption, comment, visual = layer(dim), layer(dim), layer(dim // 2)
    captions = pd.DataFrame(
        {"image_id": ids, "batch": [i[-2:] for i in ids], "labels": labels, "parse_status": "ok"}
    )
    with_comment = rng.random(n) < 0.85
    embeddings = pd.concat(
        [
            pd.DataFrame({"image_id": ids, "source": "caption", "vector": list(caption)}),
            pd.DataFrame(
                {
                    "image_id": np.asarray(ids)[with_comment],
                    "source": "comment",
                    "vector": list(comment[with_comment]),
                }
            ),
        ],
        ignore_index=True,
    )
    return captions, embeddings, dict(zip(ids, visual))


def subset(captions, embeddings, visual, keep):
    """The corpus without the images `keep` rejects: the corpus before a batch arrived."""
    ids = set(captions["image_id"][keep(captions)])
    return (
        captions[captions["image_id"].isin(ids)],
        embeddings[embeddings["image_id"].isin(ids)],
        {i: v for i, v in visual.items() if i in ids},
    )


def before_b3(captions):
    return captions["batch"] != "b3"


def grow(tmp_path, old, new, settings=SETTINGS):
    """Build on `old` (state written), then on `new` from that state; the second build and its report."""
    first, report = build_semantic_graph_incremental("m1", *old[:2], TAXONOMY, settings, old[2], tmp_path)
    assert report["mode"] == "full" and "no state" in report["reasons"]["caption"]
    assert_frame_exact(first, build_semantic_graph("m1", *old[:2], TAXONOMY, settings, old[2]))
    return build_semantic_graph_incremental("m1", *new[:2], TAXONOMY, settings, new[2], tmp_path)


def assert_frame_exact(got, expected):
    pd.testing.assert_frame_equal(got, expected, check_exact=True)  # edge sets and weights, bit for bit


@pytest.mark.parametrize(("n", "dim", "signs"), [(320, 16, True), (520, 48, False)])
def test_adding_a_batch_grows_the_lists_and_gives_the_full_build(tmp_path, n, dim, signs):
    """520 images cross the 384-row product blocks, so new-against-all products are summed in other
    tile positions than in the full search; the signs corpus ties hundreds of neighbours at the k-th place."""
    whole = corpus(n, dim, signs)
    edges, report = grow(tmp_path, subset(*whole, before_b3), whole)
    assert report["mode"] == "incremental", report
    assert report["new_nodes"] == n // 4 and report["reasons"] == {}
    assert set(report["layers"]) == {"label", "caption", "comment", "visual"}
    expected = build_semantic_graph("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2])
    assert_frame_exact(edges, expected)
    for variant in VARIANTS:
        mine = expected[expected["variant"] == variant]
        assert len(mine) > n, variant  # every variant has its edges, compared above
    again, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2], tmp_path)
    assert report["mode"] == "incremental" and report["new_nodes"] == 0
    assert_frame_exact(again, expected)


def test_two_batches_in_a_row_and_a_tiny_corpus_growing_past_k(tmp_path):
    whole = corpus(200, 16, True, seed=3)
    tiny = subset(*whole, lambda c: c["image_id"] < "img0003")  # 3 images: fewer than k others
    middle = subset(*whole, before_b3)
    edges, report = grow(tmp_path, tiny, middle)
    assert report["mode"] == "incremental" and report["new_nodes"] == 147
    assert_frame_exact(edges, build_semantic_graph("m1", *middle[:2], TAXONOMY, SETTINGS, middle[2]))
    edges, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2], tmp_path)
    assert report["mode"] == "incremental" and report["new_nodes"] == 50
    assert_frame_exact(edges, build_semantic_graph("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2]))


def _change_a_vector(captions, embeddings, visual):
    embeddings = embeddings.copy()
    row = embeddings.index[(embeddings["source"] == "caption") & (embeddings["image_id"] == "img0001-b1")][0]
    embeddings.at[row, "vector"] = embeddings.at[row, "vector"] + np.float32(0.5)
    return captions, embeddings, visual, "caption", "node input(s) changed, e.g. img0001-b1"


def _remove_a_node(captions, embeddings, visual):
    keep = captions["image_id"] != "img0002-b2"
    return (*subset(captions, embeddings, visual, lambda c: keep), "label", "1 node(s) removed, e.g. img0002-b2")


@pytest.mark.parametrize("change", [_change_a_vector, _remove_a_node])
def test_a_changed_or_removed_old_node_builds_in_full(tmp_path, change):
    whole = corpus(240, 16, True, seed=1)
    captions, embeddings, visual, layer, reason = change(*whole)
    edges, report = grow(tmp_path, subset(*whole, before_b3), (captions, embeddings, visual))
    assert report["mode"] == "full" and reason in report["reasons"][layer], report
    assert_frame_exact(edges, build_semantic_graph("m1", captions, embeddings, TAXONOMY, SETTINGS, visual))


def test_changed_k_builds_in_full(tmp_path):
    whole = corpus(240, 16, True, seed=2)
    old = subset(*whole, before_b3)
    build_semantic_graph_incremental("m1", *old[:2], TAXONOMY, SETTINGS, old[2], tmp_path)
    other = GraphConfig(k=9, min_similarity=0.1)
    edges, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, other, whole[2], tmp_path)
    assert report["mode"] == "full"
    assert set(report["reasons"]) == {"label", "caption", "comment", "visual"}
    assert all(r == "settings changed: k" for r in report["reasons"].values())
    assert_frame_exact(edges, build_semantic_graph("m1", *whole[:2], TAXONOMY, other, whole[2]))


@pytest.mark.parametrize("damage", [b"not a zip file", None])
def test_a_corrupt_state_file_builds_that_layer_in_full(tmp_path, damage):
    whole = corpus(240, 16, True, seed=4)
    old = subset(*whole, before_b3)
    build_semantic_graph_incremental("m1", *old[:2], TAXONOMY, SETTINGS, old[2], tmp_path)
    path = tmp_path / "comment.lists"
    data = path.read_bytes()
    path.write_bytes(damage if damage is not None else data[: len(data) // 2])  # garbage, or a torn write
    edges, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2], tmp_path)
    assert report["mode"] == "full" and list(report["reasons"]) == ["comment"], report
    assert "unreadable" in report["reasons"]["comment"] and str(path) in report["reasons"]["comment"]
    assert report["layers"]["caption"]["mode"] == "incremental"
    assert_frame_exact(edges, build_semantic_graph("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2]))


def test_new_against_all_similarities_are_the_full_searchs_bit_for_bit():
    """The products of the same pair differ by float64 ulps between tile positions; the canonical
    rounding must hide that for every pair, including those a hair from a rounding boundary."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(900, 96)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows, cols, sims = exact_neighbours(x, 12)
    again = canonical_similarities(x[rows[::7]], x)[np.arange(len(rows[::7])), cols[::7]]
    np.testing.assert_array_equal(again, sims[::7])
    left, right = canonical_similarities(x[:400], x), canonical_similarities(x[3:403], x)
    np.testing.assert_array_equal(left[3:], right[:-3])
    np.testing.assert_array_equal(
        canonical_similarities(x[:300], x[:300]), canonical_similarities(x[:300], x[:300]).T
    )


def test_a_product_a_hair_from_a_rounding_boundary_rounds_one_way_wherever_it_was_summed():
    """Two BLAS sums of one pair 3e-14 either side of a rounding boundary (the half-way point between two
    6-decimal values) must both give the value of the pair's own index-order sum."""
    from workbench_dagster.networks.top_k_heaps import canonical_round

    rng = np.random.default_rng(6)
    left, right = (rng.normal(size=(1, 384)) / np.sqrt(384)).astype(np.float32), np.empty((2, 384), np.float32)
    right[:] = rng.normal(size=384) / np.sqrt(384)
    own = sum(float(a) * float(b) for a, b in zip(left[0], right[0]))  # index order, exact products
    boundary = (np.floor(own * 1e6) + 0.5) / 1e6
    rounded = canonical_round(np.array([[boundary - 3e-14, boundary + 3e-14]]), left, right, 1e6)
    assert rounded[0, 0] == rounded[0, 1] == np.float32(np.rint(own * 1e6) / 1e6)
    far = canonical_round(np.array([[0.1234564]]), left, right[:1], 1e6)  # far from any boundary: kept
    assert far[0, 0] == np.float32(0.123456)


@pytest.mark.parametrize(
    "other",
    [
        GraphConfig(k=6, min_similarity=0.4),
        GraphConfig(
            k=6, min_similarity=0.1, layer_weights={"visual": 0.1, "label": 1.0, "caption": 0.2, "comment": 0.9}
        ),
    ],
)
def test_threshold_and_layer_weights_apply_after_the_lists_so_they_stay_incremental(tmp_path, other):
    """Lists hold each node's k best before the similarity threshold, and variants weigh finished
    layers, so changing either still grows the lists, and still gives the full build."""
    whole = corpus(240, 16, True, seed=7)
    old = subset(*whole, before_b3)
    build_semantic_graph_incremental("m1", *old[:2], TAXONOMY, SETTINGS, old[2], tmp_path)
    edges, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, other, whole[2], tmp_path)
    assert report["mode"] == "incremental", report
    assert_frame_exact(edges, build_semantic_graph("m1", *whole[:2], TAXONOMY, other, whole[2]))


@pytest.mark.parametrize("signs", [True, False])
def test_screened_similarities_keep_every_entry_that_can_enter_a_list_at_its_canonical_value(signs):
    """The float32 screen may keep more than it must, never less: every entry among its row's k best
    canonical values (ties at the k-th included) or at least its column's floor is kept, at exactly the
    value canonical_similarities gives it. The signs vectors tie hundreds of cosines at each value."""
    from workbench_dagster.networks.knn import screened_similarities
    from workbench_dagster.networks.similarity import unit_rows

    rng = np.random.default_rng(8)
    if signs:
        x = 0.25 * rng.choice([-1.0, 1.0], size=(3, 24))[rng.integers(0, 3, 700)]
        x = (x * np.where(rng.random(x.shape) < 0.2, -1.0, 1.0)).astype(np.float32)
    else:
        x = rng.normal(size=(700, 384)).astype(np.float32)
    unit = unit_rows(x)
    rows, width = np.arange(5, 700, 9), 6
    floor = np.where(rng.random(700) < 0.5, np.inf, rng.choice([-np.inf, 0.05, 0.3, 0.6], 700))
    r, c, v = screened_similarities(unit, rows, width, floor)
    exact = canonical_similarities(unit[rows], unit)
    np.testing.assert_array_equal(v, exact[r, c])
    assert not np.any(c == rows[r])  # never a node's own column
    exact[np.arange(len(rows)), rows] = -np.inf
    kth = -np.sort(-exact, axis=1)[:, width - 1]
    must = (exact >= kth[:, None]) | (exact >= floor[None, :])
    must[np.arange(len(rows)), rows] = False
    kept = np.zeros_like(must)
    kept[r, c] = True
    assert np.all(kept[must]) and must.sum() > len(rows) * width
    assert kept.sum() < 1.5 * must.sum() or signs  # a screen: it leaves out most of the matrix


def test_vector_fingerprints_tell_changed_rows_and_take_negative_zero_for_zero():
    from workbench_dagster.networks.neighbour_state import row_fingerprints

    rng = np.random.default_rng(9)
    x = rng.normal(size=(50, 384)).astype(np.float32)
    x[:, :5] = 0.0
    other = x.copy()
    other[::2, :5] = -0.0  # the same numbers
    other[7, 100] = np.nextafter(other[7, 100], np.float32(np.inf))  # one ulp: a changed input
    same = np.all(row_fingerprints(x) == row_fingerprints(other), axis=1)
    assert same.sum() == 49 and not same[7]
    assert len({row.tobytes() for row in row_fingerprints(x)}) == 50


def test_a_state_in_the_old_npz_format_builds_in_full_and_says_so(tmp_path):
    whole = corpus(240, 16, True, seed=4)
    old = subset(*whole, before_b3)
    build_semantic_graph_incremental("m1", *old[:2], TAXONOMY, SETTINGS, old[2], tmp_path)
    np.savez(tmp_path / "caption.lists", ids=np.asarray(["x"]))  # what format 1 wrote: a zip
    (tmp_path / "caption.lists.npz").replace(tmp_path / "caption.lists")
    edges, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2], tmp_path)
    assert list(report["reasons"]) == ["caption"] and "format 1 (npz)" in report["reasons"]["caption"], report
    assert_frame_exact(edges, build_semantic_graph("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2]))
    again, report = build_semantic_graph_incremental("m1", *whole[:2], TAXONOMY, SETTINGS, whole[2], tmp_path)
    assert report["mode"] == "incremental" and report["new_nodes"] == 0  # rewritten in the new format
    assert_frame_exact(again, edges)
