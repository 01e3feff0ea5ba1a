"""Comparing models' networks: partition agreement, shared central nodes, omnibus divergence."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tests.helpers import SETTINGS
from workbench_dagster.networks.comparison import compare_models, image_divergence, omnibus_divergence


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
