"""The narrative-network pipeline: variants, bipartite projection, hierarchy, exports, model comparison."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from tests.helpers import SETTINGS, TAXONOMY, planted_clusters, planted_corpus, reference_centrality
from workbench_dagster.networks.graphs import (
    bipartite_graph,
    hierarchical_communities,
    knn_similarity_graph,
    label_jaccard_graph,
    label_projection,
    modularity,
    omnibus_divergence,
)
from workbench_dagster.networks.variants import (
    BIPARTITE,
    CENTRALITY_COLUMNS,
    COMMUNITY_COLUMNS,
    EDGE_COLUMNS,
    build_semantic_graph,
    centrality_and_communities,
    community_table,
    compare_models,
    export_networks,
    image_divergence,
)
from workbench_dagster.scenario.config import GraphConfig


def brute_force_top_k_jaccard(sets, k):
    n = len(sets)
    jac = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            union = len(set(sets[i]) | set(sets[j]))
            if i != j and union:
                jac[i, j] = len(set(sets[i]) & set(sets[j])) / union
    kept = np.zeros_like(jac)
    for i in range(n):
        order = sorted(range(n), key=lambda j: (-jac[i, j], j))[:k]  # ties: earlier image first
        for j in order:
            if jac[i, j] > 0:
                kept[i, j] = jac[i, j]
    return np.maximum(kept, kept.T)


def test_label_jaccard_top_k_in_blocks_matches_brute_force_with_a_label_everywhere():
    rng = np.random.default_rng(3)
    # "lab0" is on every image: X X^T is fully dense, the case the blocks exist for.
    sets = [["lab0"] + [lab for lab in TAXONOMY[1:] if rng.random() < 0.2] for _ in range(120)]
    expected = brute_force_top_k_jaccard(sets, k=4)
    for block_entries in (120 * 7, 1 << 24):  # 7 rows per block, and one block
        adj = label_jaccard_graph(sets, TAXONOMY, k=4, block_entries=block_entries)
        np.testing.assert_allclose(adj.toarray(), expected, atol=1e-6)
    assert adj.nnz <= 2 * 4 * len(sets)  # O(n k), not n^2
    full = label_jaccard_graph(sets, TAXONOMY).toarray()
    assert (full > 0).sum() == 120 * 119


def test_label_jaccard_with_many_duplicate_sets_matches_brute_force():
    rng = np.random.default_rng(7)
    # 17 ways of writing 14 distinct sets once unknown labels are dropped (reordered, repeated
    # and unknown labels; [] and only-unknown both empty), drawn with skewed popularity.
    pool = [
        ["lab0"],
        ["lab0", "lab1"],
        ["lab1", "lab0"],
        ["lab0", "lab1", "lab2"],
        ["lab2", "lab3"],
        ["lab0", "lab4", "lab5"],
        ["lab4", "lab5"],
        ["lab6"],
        ["lab6", "lab7", "zzz-unknown"],
        ["lab6", "lab7"],
        ["lab1", "lab2", "lab3", "lab4"],
        ["lab8", "lab9", "lab10", "lab11"],
        ["lab9", "lab10"],
        ["lab3", "lab9", "lab2", "lab10", "lab3"],
        [],
        ["zzz-unknown", "yyy"],
        ["lab0", "lab2", "lab4", "lab6"],
    ]
    weights = 1 / np.arange(1, len(pool) + 1) ** 1.5
    drawn = rng.choice(len(pool), size=300, p=weights / weights.sum())
    sets = [list(rng.permutation(pool[i])) for i in drawn]
    assert len({frozenset(lab for lab in s if lab in TAXONOMY) for s in sets}) == 14
    counts = np.bincount(drawn, minlength=len(pool))
    assert counts.max() > 11 and counts[13] == 1  # its own set fills some top 10s; pool[13] is alone,
    # and its best other sets tie (1/2 with lab2 lab3 and with lab9 lab10): the earlier image must win
    known = [[lab for lab in s if lab in TAXONOMY] for s in sets]  # what the graph sees
    for k in (1, 3, 10, 299):
        brute = brute_force_top_k_jaccard(known, k)
        for min_jaccard in (0.0, 0.3, 0.5):
            expected = np.where(brute >= min_jaccard, brute, 0)
            for block_entries in (300 * 4, 1 << 24):
                adj = label_jaccard_graph(
                    sets, TAXONOMY, min_jaccard=min_jaccard, k=k, block_entries=block_entries
                )
                np.testing.assert_array_equal(adj.toarray() > 0, expected > 0)
                np.testing.assert_allclose(adj.toarray(), expected, atol=1e-6)
    empty = [i for i, s in enumerate(known) if not s]
    assert empty and adj[empty].nnz == 0  # empty (or all-unknown) sets link to nobody


def test_approximate_knn_finds_nearly_all_exact_neighbours_with_exact_weights():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(40, 32))
    vectors = centers[rng.integers(0, 40, 3000)] + 0.5 * rng.normal(size=(3000, 32))
    exact = knn_similarity_graph(vectors, k=8, min_similarity=0.0)
    approx = knn_similarity_graph(vectors, k=8, min_similarity=0.0, approximate_above=1000, seed=1)
    found = approx.multiply(exact > 0)
    assert found.nnz / exact.nnz >= 0.95
    np.testing.assert_allclose(found.data, exact.multiply(approx > 0).data, atol=1e-5)
    again = knn_similarity_graph(vectors, k=8, min_similarity=0.0, approximate_above=1000, seed=1)
    assert (again != approx).nnz == 0  # seeded: the same graph every run


@pytest.fixture(scope="module")
def planted_pipeline():
    captions, embeddings, visual, truth, texts = planted_corpus()
    edges = build_semantic_graph("m1", captions, embeddings, TAXONOMY, SETTINGS, visual)
    centrality, stats = centrality_and_communities("m1", captions, edges, SETTINGS)
    return captions, embeddings, visual, truth, texts, edges, centrality, stats


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


def test_bipartite_projection_centrality_matches_networkx():
    rng = np.random.default_rng(2)
    ids = [f"img{i:02d}" for i in range(40)]
    node_labels = {i: [lab for lab in TAXONOMY[:7] if rng.random() < 0.3] or ["lab0"] for i in ids}
    node_labels["img00"] = node_labels["img00"] + ["not-in-taxonomy"]
    B = bipartite_graph(node_labels, TAXONOMY)
    assert nx.is_bipartite(B) and B.number_of_edges() == sum(len(v) for v in node_labels.values()) - 1
    P = label_projection(B)
    reference = nx.bipartite.overlap_weighted_projected_graph(
        B, [f"label:{lab}" for lab in TAXONOMY], jaccard=True
    )
    assert nx.utils.edges_equal(P.edges(data="weight"), reference.edges(data="weight"))
    used = reference.subgraph([v for v in reference if reference.degree(v)]).copy()
    assert nx.is_connected(used)
    expected = reference_centrality(used)

    # Through the pipeline: the image_label edges of semantic_graph become label-level rows.
    captions = pd.DataFrame(
        {"image_id": ids, "batch": "b1", "labels": [node_labels[i] for i in ids], "parse_status": "ok"}
    )
    edges = pd.DataFrame(
        [
            {"model": "m", "variant": BIPARTITE, "source": i, "target": f"label:{lab}", "weight": 1.0}
            for i in ids
            for lab in node_labels[i]
            if lab in TAXONOMY
        ]
    )
    frame, stats = centrality_and_communities("m", captions, edges, SETTINGS)
    labels = frame.set_index("node")
    assert set(labels["node_type"]) == {"label"} and labels["batch"].isna().all()
    assert stats[BIPARTITE]["nodes"] == used.number_of_nodes()
    for column, values in expected.items():
        np.testing.assert_allclose(
            labels.loc[[v.removeprefix("label:") for v in used], column],
            [values[v] for v in used],
            err_msg=column,
            atol=1e-8,
        )


def test_hierarchical_leiden_levels_refine_each_other():
    vectors, truth = planted_clusters(seed=5, per_cluster=24, n_clusters=5, dim=64)
    adj = knn_similarity_graph(vectors, k=8, min_similarity=0.0)
    G = nx.from_scipy_sparse_array(adj)
    # Level 0 finds the 5 planted clusters of 24; each is bigger than 12, so a level below splits it.
    levels = hierarchical_communities(G, resolution=1.0, seed=7, max_cluster_size=12)
    assert len(levels) >= 2
    assert adjusted_rand_score(truth, [levels[0][v] for v in range(len(truth))]) >= 0.9
    for partition in levels:
        assert set(partition) == set(G)
        sizes = pd.Series(partition).value_counts().sort_index()
        assert list(sizes.index) == list(range(len(sizes)))
    for upper, lower in zip(levels, levels[1:]):
        parents = pd.DataFrame({"lower": lower, "upper": upper}).groupby("lower")["upper"].nunique()
        assert (parents == 1).all()  # a deeper community sits inside one community of the level above
        assert len(set(lower.values())) > len(set(upper.values()))
    assert max(pd.Series(levels[-1]).value_counts()) <= 12
    assert modularity(G, levels[0]) > modularity(G, levels[-1]) > 0
    assert hierarchical_communities(G, 1.0, 7, 12) == levels
    assert hierarchical_communities(nx.empty_graph(3), 1.0, 7, 12) == [{0: 0, 1: 1, 2: 2}]


def test_community_cards_per_variant_and_level(planted_pipeline):
    captions, _, _, truth, texts, edges, centrality, _ = planted_pipeline
    table = community_table("m1", centrality, captions, texts, edges)
    assert list(table.columns) == COMMUNITY_COLUMNS
    assert set(table["variant"]) == set(SETTINGS.variants)
    for (variant, level), rows in table.groupby(["variant", "level"]):
        assert rows["size"].sum() == len(truth)
        assert rows["modularity"].nunique() == 1
        G = nx.Graph()
        mine = edges[edges["variant"] == variant]
        G.add_weighted_edges_from(mine[["source", "target", "weight"]].itertuples(index=False, name=None))
        if level == 0:
            partition = dict(
                zip(
                    centrality.loc[centrality["variant"] == variant, "node"],
                    centrality.loc[centrality["variant"] == variant, "community"].astype(int),
                )
            )
            assert rows["modularity"].iloc[0] == pytest.approx(modularity(G, partition))
            assert rows["parent"].isna().all()
    assert table["level"].max() >= 2 and table.loc[table["level"] >= 2, "parent"].notna().all()
    top = table[(table["variant"] == "labels_captions") & (table["level"] == 0)].iloc[0]
    assert top["keywords"][0] in {"march", "beach", "market", "flood"} and top["overrepresented_labels"]
    assert top["summary"].startswith(f"Community 0: {top['size']} images")


def test_exports_load_back_with_the_same_nodes_edges_and_weights(planted_pipeline, tmp_path):
    captions, *_, edges, centrality, _ = planted_pipeline
    paths = export_networks("m1", captions, edges, centrality, tmp_path)
    assert set(paths) == {*SETTINGS.variants, BIPARTITE}
    for variant, files in paths.items():
        mine = edges[edges["variant"] == variant]
        expected = {
            frozenset((s, t)): w for s, t, w in mine[["source", "target", "weight"]].itertuples(index=False)
        }
        for G in (nx.read_gexf(files["gexf"]), nx.read_graphml(files["graphml"])):
            assert set(captions["image_id"]) <= set(G.nodes)
            got = {frozenset((u, v)): d["weight"] for u, v, d in G.edges(data=True)}
            assert got.keys() == expected.keys(), variant
            np.testing.assert_allclose([got[e] for e in expected], list(expected.values()))
            if variant != BIPARTITE:
                node = captions["image_id"].iloc[0]
                assert int(G.nodes[node]["community"]) == int(
                    centrality.set_index(["variant", "node"]).loc[(variant, node), "community"]
                )


def test_exports_write_only_the_configured_formats(planted_pipeline, tmp_path):
    captions, *_, edges, centrality, _ = planted_pipeline
    both = export_networks("m1", captions, edges, centrality, tmp_path)
    assert len(list((tmp_path / "m1").iterdir())) == 2 * len(both)
    (tmp_path / "m1" / "notes.txt").write_text("mine")
    paths = export_networks("m1", captions, edges, centrality, tmp_path, ["graphml"])
    assert {fmt for files in paths.values() for fmt in files} == {"graphml"}
    files = sorted(p.name for p in (tmp_path / "m1").iterdir())
    assert files == sorted([f"{v}.graphml" for v in paths] + ["notes.txt"])  # stale GEXF gone, other files kept
    assert export_networks("m1", captions, edges, centrality, tmp_path, []) == {}
    assert [p.name for p in (tmp_path / "m1").iterdir()] == ["notes.txt"]
    assert export_networks("m1", captions, edges, centrality, tmp_path / "none", []) == {}


def test_model_comparison_identical_vs_shuffled_partitions(planted_pipeline):
    centrality = planted_pipeline[6]
    same = centrality.assign(model="m2")
    shuffled = centrality.assign(model="m3")
    for variant in SETTINGS.variants:
        mask = shuffled["variant"] == variant
        shuffled.loc[mask, "community"] = shuffled.loc[mask, "community"].sample(frac=1, random_state=0).to_numpy()
    table = compare_models(pd.concat([centrality, same, shuffled])).set_index(["variant", "model_a", "model_b"])
    for variant in SETTINGS.variants:
        identical = table.loc[(variant, "m1", "m2")]
        assert identical["ari"] == pytest.approx(1.0) and identical["nmi"] == pytest.approx(1.0)
        assert identical["top_image_overlap"] == 1.0 and identical["top_label_overlap"] == 1.0
        assert abs(table.loc[(variant, "m1", "m3"), "ari"]) < 0.1
        assert table.loc[(variant, "m1", "m3"), "nmi"] < 0.2
        assert identical["n_shared"] == 160


def test_omnibus_divergence_points_at_the_images_whose_neighbours_changed(planted_pipeline):
    edges = planted_pipeline[5]
    mine = edges[edges["variant"] == "labels_captions"]
    assert np.allclose(image_divergence(pd.concat([mine, mine.assign(model="m2")]))["divergence"], 0, atol=1e-6)

    ids = sorted(set(mine["source"]) | set(mine["target"]))
    index = {n: i for i, n in enumerate(ids)}
    adj = sp.coo_matrix(
        (mine["weight"], (mine["source"].map(index), mine["target"].map(index))), shape=(len(ids), len(ids))
    ).tocsr()
    adj = adj.maximum(adj.T).tolil()
    rng = np.random.default_rng(0)
    moved = rng.choice(len(ids), 12, replace=False)
    other = adj.copy()
    for i in moved:  # rewire: its old neighbours are dropped, random far images become neighbours
        for j in list(other.rows[i]):
            other[i, j] = other[j, i] = 0
        for j in rng.choice(len(ids), 8, replace=False):
            if j != i:
                other[i, j] = other[j, i] = 0.9
    score = omnibus_divergence([adj.tocsr(), other.tocsr()], n_components=4, seed=0)
    rest = np.setdiff1d(np.arange(len(ids)), moved)
    assert score[moved].mean() > 3 * score[rest].mean()

    # The sparse omnibus matrix gives graspologic's dense embedding (the dense path needs
    # (graphs x n)^2 floats, which is why the code never takes it).
    import warnings

    from graspologic.embed import OmnibusEmbed

    np.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = OmnibusEmbed(n_components=4, algorithm="randomized", check_lcc=False).fit_transform(
            [adj.toarray(), other.toarray()]
        )
    np.testing.assert_allclose(score, np.linalg.norm(dense - dense.mean(axis=0), axis=2).mean(axis=0), atol=1e-9)


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
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        GraphConfig(**bad)


def test_exact_knn_breaks_ties_at_the_kth_place_towards_the_earlier_item():
    # Unit vectors of +-0.25 in 16 dimensions: every cosine is a multiple of 1/8, computed
    # exactly in any summation order, so hundreds of rows tie at their k-th place.
    rng = np.random.default_rng(4)
    vectors = rng.choice([-0.25, 0.25], size=(600, 16)).astype(np.float32)
    dense = vectors @ vectors.T
    np.fill_diagonal(dense, -np.inf)
    top = np.lexsort((np.broadcast_to(np.arange(600), dense.shape), -dense), axis=1)[:, :5]  # value, then column
    kth, spare = np.take_along_axis(dense, top, axis=1)[:, 4], np.sort(dense, axis=1)[:, -6]
    assert ((kth == spare) & (kth > 0)).sum() > 100  # the tie-breaking path is really taken
    expected = np.zeros_like(dense)
    rows = np.repeat(np.arange(600), 5)
    vals = dense[rows, top.ravel()]
    ok = vals >= 0.1
    expected[rows[ok], top.ravel()[ok]] = vals[ok]
    adj = knn_similarity_graph(vectors, k=5, min_similarity=0.1).toarray()
    np.testing.assert_array_equal(adj, np.maximum(expected, expected.T))


def test_force_layout_is_seeded_and_keeps_every_planted_cluster_apart():
    from workbench_dagster.networks.graphs import force_layout

    # Four clusters, two of them in a component of their own: a spectral map collapses each
    # component onto a point; the layout must keep all four apart.
    vectors, truth = planted_clusters(n_clusters=4, per_cluster=150)
    adj = knn_similarity_graph(vectors, k=8, min_similarity=0.0).tolil()
    adj[0, 150] = adj[150, 0] = 0.05  # clusters 0 and 1 bridged; 2 and 3 on their own
    adj = sp.vstack([sp.hstack([adj, sp.csr_matrix((600, 1))]), sp.csr_matrix((1, 601))]).tocsr()  # + isolated
    truth = np.append(truth, -1)
    coords = force_layout(adj, seed=7)
    assert coords.shape == (601, 2) and np.isfinite(coords).all()
    import random

    random.seed(12345)  # igraph's process-wide generator is Python's: the map must not depend on it
    np.testing.assert_array_equal(coords, force_layout(adj, seed=7))
    assert not np.allclose(coords, force_layout(adj, seed=8))
    centres = np.stack([coords[truth == c].mean(axis=0) for c in range(4)])
    spread = max(np.linalg.norm(coords[truth == c] - centres[c], axis=1).mean() for c in range(4))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(4) for b in range(a + 1, 4)]
    assert min(gaps) > 2 * spread
    assert force_layout(sp.csr_matrix((3, 3)), seed=7).tolist() == [[0.0, 0.0]] * 3
