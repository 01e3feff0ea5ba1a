"""How the models' networks differ: partition agreement, shared central nodes, per-image divergence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench_dagster.networks.tables import DIVERGENCE_COLUMNS, NETWORK_COMPARISON_COLUMNS
from workbench_dagster.networks.variant_registry import BIPARTITE

TOP_N = 10  # most central images / labels compared across models


def partition_agreement(a: dict, b: dict) -> dict:
    """ARI and NMI of two partitions over the nodes they share."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    shared = sorted(set(a) & set(b), key=str)
    if len(shared) < 2:
        return {"n_shared": len(shared), "ari": float("nan"), "nmi": float("nan")}
    x, y = [a[v] for v in shared], [b[v] for v in shared]
    return {
        "n_shared": len(shared),
        "ari": float(adjusted_rand_score(x, y)),
        "nmi": float(normalized_mutual_info_score(x, y)),
    }


def top_overlap(a: list, b: list) -> float:
    """Jaccard overlap of two top-n lists (1.0 when both are empty)."""
    sa, sb = set(a), set(b)
    return 1.0 if not sa | sb else len(sa & sb) / len(sa | sb)


def omnibus_divergence(adjacencies: list[sp.spmatrix], n_components: int = 4, seed: int = 0) -> np.ndarray:
    """Per-node divergence across graphs on the same nodes, from a joint omnibus embedding.

    OmnibusEmbed puts every graph's nodes in one space, so a node's positions under two
    models can be compared directly; the score is its mean distance from its own centroid
    across models (0 where every model places it alike). Returns an array (n,).
    """
    n = adjacencies[0].shape[0]
    if len(adjacencies) < 2 or n < 3:
        return np.zeros(n)
    from graspologic.embed import OmnibusEmbed

    # Sparse in, sparse omnibus matrix: dense inputs would need (graphs x n)^2 floats, 13 GB for two
    # models at 20k images; the randomized SVD gives the same embedding from the sparse one.
    graphs = [
        sp.csr_array(sp.csr_matrix(a, dtype=np.float64).maximum(sp.csr_matrix(a, dtype=np.float64).T))
        for a in adjacencies
    ]
    d = max(1, min(n_components, n - 1))
    np.random.seed(seed)  # graspologic's randomized SVD draws from numpy's global state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        latent = OmnibusEmbed(n_components=d, algorithm="randomized", check_lcc=False).fit_transform(graphs)
    latent = latent[0] if isinstance(latent, tuple) else latent  # (graphs, n, d)
    centre = latent.mean(axis=0, keepdims=True)
    return np.linalg.norm(latent - centre, axis=2).mean(axis=0)


def compare_models(centrality: pd.DataFrame, top_n: int = TOP_N) -> pd.DataFrame:
    """Every pair of models per variant: ARI/NMI of their Leiden partitions over shared images,
    and the overlap of their most central images (by PageRank) and labels (label projection)."""
    rows = []
    images = centrality[centrality["node_type"] == "image"]
    labels = centrality[centrality["node_type"] == "label"]

    def top(frame: pd.DataFrame) -> list:
        return list(frame.sort_values(["pagerank", "node"], ascending=[False, True])["node"].head(top_n))

    top_labels = {m: top(f) for m, f in labels.groupby("model")}
    for variant, table in images.groupby("variant"):
        by_model = {m: f for m, f in table.groupby("model")}  # noqa: C416 (dict() reads GroupBy.keys)
        models = sorted(by_model)
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                pa = {n: int(c) for n, c in zip(by_model[a]["node"], by_model[a]["community"]) if pd.notna(c)}
                pb = {n: int(c) for n, c in zip(by_model[b]["node"], by_model[b]["community"]) if pd.notna(c)}
                agreement = partition_agreement(pa, pb)
                shared = set(pa) & set(pb)
                ta = top(by_model[a][by_model[a]["node"].isin(shared)])
                tb = top(by_model[b][by_model[b]["node"].isin(shared)])
                rows.append(
                    {
                        "variant": variant,
                        "model_a": a,
                        "model_b": b,
                        **agreement,
                        "top_image_overlap": top_overlap(ta, tb),
                        "top_label_overlap": top_overlap(top_labels.get(a, []), top_labels.get(b, [])),
                    }
                )
    return pd.DataFrame(rows, columns=NETWORK_COMPARISON_COLUMNS)


def image_divergence(edges: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """Per variant and shared image: how differently the models place it (omnibus embedding of their graphs)."""
    frames = []
    images = edges[edges["variant"] != BIPARTITE]
    for variant, table in images.groupby("variant"):
        by_model = {m: f for m, f in table.groupby("model")}  # noqa: C416 (dict() reads GroupBy.keys)
        if len(by_model) < 2:
            continue
        node_sets = [set(f["source"]) | set(f["target"]) for f in by_model.values()]
        shared = sorted(set.intersection(*node_sets))
        if len(shared) < 3:
            continue
        index = {n: i for i, n in enumerate(shared)}
        adjacencies = []
        for f in by_model.values():
            f = f[f["source"].isin(index) & f["target"].isin(index)]
            adj = sp.coo_matrix(
                (f["weight"].to_numpy(float), (f["source"].map(index), f["target"].map(index))),
                shape=(len(shared), len(shared)),
            ).tocsr()
            adjacencies.append(adj.maximum(adj.T))
        score = omnibus_divergence(adjacencies, seed=seed)
        frame = pd.DataFrame(
            {"variant": variant, "image_id": shared, "n_models": len(by_model), "divergence": score}
        )
        frame["divergence_rank"] = frame["divergence"].rank(ascending=False, method="first").astype(int)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=DIVERGENCE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[DIVERGENCE_COLUMNS]
