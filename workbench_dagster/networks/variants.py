"""A model's narrative networks over all its images, in the design's variants.

Each image-image variant averages similarity layers with the weights in `graph.layer_weights`:

- `labels`: visual (the baseline's penultimate layer, for baseline models) and label Jaccard;
- `labels_captions`: plus caption-embedding similarity;
- `labels_captions_comments`: plus the similarity of the images' mean comment embeddings.

The layer columns of the edge table are the multiplex view (one layer per column, 0 where a
pair is not among either end's k nearest in that layer); `image_label` rows are the
image-label bipartite graph. Every layer is a sparse kNN graph (blocked products with top-k,
an approximate index above `graph.approximate_above` items), never an all-pairs Python loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench_dagster.networks.graphs import (
    bipartite_graph,
    centrality_frame,
    combine_graphs,
    export_graph,
    force_layout,
    hierarchical_communities,
    knn_similarity_graph,
    label_jaccard_graph,
    label_projection,
    leiden_communities,
    modularity,
    omnibus_divergence,
    partition_agreement,
    summarize_communities,
    top_overlap,
)
from workbench_dagster.scenario.config import GraphConfig

LAYERS = ("visual", "label", "caption", "comment")
LAYER_COLUMNS = {
    "visual": "visual_similarity",
    "label": "label_jaccard",
    "caption": "caption_similarity",
    "comment": "comment_similarity",
}
VARIANT_LAYERS = {
    "labels": ("visual", "label"),
    "labels_captions": ("visual", "label", "caption"),
    "labels_captions_comments": ("visual", "label", "caption", "comment"),
}
BIPARTITE = "image_label"  # the image-label bipartite graph; its centralities are of the label projection

EDGE_COLUMNS = ["model", "variant", "source", "target", "weight", *LAYER_COLUMNS.values()]
CENTRALITY_COLUMNS = [
    "model",
    "variant",
    "node",
    "node_type",
    "batch",
    "degree",
    "strength",
    "betweenness",
    "eigenvector",
    "pagerank",
    "closeness",
    "community",
    "hierarchy",
    "x",
    "y",
]
COMMUNITY_COLUMNS = [
    "model",
    "variant",
    "level",
    "community",
    "parent",
    "size",
    "modularity",
    "top_labels",
    "overrepresented_labels",
    "label_lift",
    "keywords",
    "central_images",
    "summary",
    "summary_source",
    "summary_error",
]
NETWORK_COMPARISON_COLUMNS = [
    "variant",
    "model_a",
    "model_b",
    "n_shared",
    "ari",
    "nmi",
    "top_image_overlap",
    "top_label_overlap",
]
DIVERGENCE_COLUMNS = ["variant", "image_id", "n_models", "divergence", "divergence_rank"]
TOP_N = 10  # most central images / labels compared across models


def graph_nodes(captions: pd.DataFrame) -> pd.DataFrame:
    ok = captions[~captions["parse_status"].isin(["invalid", "error"])]
    return ok.sort_values("image_id").drop_duplicates("image_id").reset_index(drop=True)


def _stack(ids: list[str], vectors_by_id: dict) -> np.ndarray:
    dim = len(next(iter(vectors_by_id.values()))) if vectors_by_id else 1
    zero = np.zeros(dim, dtype=np.float32)  # an image without text links to nobody in that layer
    return np.stack([np.asarray(vectors_by_id.get(i, zero), dtype=np.float32) for i in ids])


def _mean_vectors(embeddings: pd.DataFrame, source: str) -> dict:
    rows = embeddings[embeddings["source"] == source]
    if rows.empty:
        return {}
    groups = rows.groupby("image_id")["vector"]
    return {
        image: np.mean(np.stack([np.asarray(v, dtype=np.float32) for v in vs]), axis=0) for image, vs in groups
    }


def layer_graphs(
    ids: list[str],
    label_sets: list[list[str]],
    embeddings: pd.DataFrame,
    labels: list[str],
    settings: GraphConfig,
    visual: dict | None = None,
) -> dict[str, sp.csr_matrix]:
    """The multiplex: one sparse kNN adjacency per layer on the same node order (visual only when given)."""

    def knn(vectors: np.ndarray) -> sp.csr_matrix:
        adj = knn_similarity_graph(
            vectors,
            k=settings.k,
            min_similarity=settings.min_similarity,
            approximate_above=settings.approximate_above,
            seed=settings.seed,
        )
        np.clip(adj.data, -1.0, 1.0, out=adj.data)
        return adj

    layers = {"label": label_jaccard_graph(label_sets, labels, k=settings.k)}
    captions = embeddings[embeddings["source"] == "caption"].drop_duplicates("image_id")
    layers["caption"] = knn(_stack(ids, dict(zip(captions["image_id"], captions["vector"]))))
    layers["comment"] = knn(_stack(ids, _mean_vectors(embeddings, "comment")))
    if visual:
        layers["visual"] = knn(_stack(ids, visual))
    return layers


def build_semantic_graph(
    model: str,
    captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    labels: list[str],
    settings: GraphConfig,
    visual: dict | None = None,
) -> pd.DataFrame:
    """Edges of every configured variant plus the image-label bipartite edges, one table."""
    nodes = graph_nodes(captions)
    ids = list(nodes["image_id"])
    if not ids:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    label_sets = [list(x) for x in nodes["labels"]]
    layers = layer_graphs(ids, label_sets, embeddings, labels, settings, visual)
    weights = settings.layer_weights.model_dump()
    ids_arr = np.asarray(ids, dtype=object)
    frames = []
    for variant in settings.variants:
        present = [
            (layers[name], weights[name])
            for name in VARIANT_LAYERS[variant]
            if name in layers and weights[name] > 0
        ]
        combined = combine_graphs(present)
        np.clip(combined.data, 0.0, 1.0, out=combined.data)
        upper = sp.triu(combined.maximum(combined.T), k=1).tocoo()
        upper.eliminate_zeros()
        rows, cols = upper.row, upper.col
        frame = {
            "model": model,
            "variant": variant,
            "source": ids_arr[rows],
            "target": ids_arr[cols],
            "weight": upper.data.astype(float),
        }
        for name, column in LAYER_COLUMNS.items():
            in_variant = name in VARIANT_LAYERS[variant] and name in layers
            frame[column] = np.asarray(layers[name][rows, cols]).ravel().astype(float) if in_variant else 0.0
        frames.append(pd.DataFrame(frame, columns=EDGE_COLUMNS))
    pairs = [
        (image, f"label:{lab}")
        for image, labs in zip(ids, label_sets)
        for lab in dict.fromkeys(labs)
        if lab in set(labels)
    ]
    frames.append(
        pd.DataFrame(
            {
                "model": model,
                "variant": BIPARTITE,
                "source": [p[0] for p in pairs],
                "target": [p[1] for p in pairs],
                "weight": 1.0,
                **dict.fromkeys(LAYER_COLUMNS.values(), 0.0),
            },
            columns=EDGE_COLUMNS,
        )
    )
    out = pd.concat(frames, ignore_index=True)[EDGE_COLUMNS]
    return out.astype(dict.fromkeys(["weight", *LAYER_COLUMNS.values()], float))


def network_from_edges(nodes: list[str], edges: pd.DataFrame):
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(nodes)
    G.add_weighted_edges_from(edges[["source", "target", "weight"]].itertuples(index=False, name=None))
    return G


def _variant_graph(variant: str, nodes: pd.DataFrame, edges: pd.DataFrame):
    """The graph whose nodes the centrality table describes: images, or labels for the bipartite variant."""
    import networkx as nx

    mine = edges[edges["variant"] == variant]
    if variant != BIPARTITE:
        return network_from_edges(list(nodes["image_id"]), mine), "image"
    B = nx.Graph()
    B.add_nodes_from(nodes["image_id"], bipartite=0)
    B.add_nodes_from(sorted(set(mine["target"])), bipartite=1)
    B.add_edges_from(mine[["source", "target"]].itertuples(index=False, name=None), weight=1.0)
    P = label_projection(B)
    return nx.relabel_nodes(P, {v: v.removeprefix("label:") for v in P}), "label"


def _graph_variants(edges: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(edges["variant"])) if len(edges) else []
    return [v for v in present if v != BIPARTITE] + ([BIPARTITE] if BIPARTITE in present else [])


def centrality_and_communities(
    model: str, captions: pd.DataFrame, edges: pd.DataFrame, settings: GraphConfig
) -> tuple[pd.DataFrame, dict]:
    """Centralities, flat seeded Leiden and hierarchical Leiden per variant, plus a 2-D map of the nodes."""
    import networkx as nx

    nodes = graph_nodes(captions)
    batch_of = dict(zip(nodes["image_id"], nodes["batch"]))
    frames, stats = [], {}
    for variant in _graph_variants(edges):
        G, node_type = _variant_graph(variant, nodes, edges)
        frame = centrality_frame(G)
        partition = leiden_communities(G, settings.resolution, settings.seed) if len(G) else {}
        levels = hierarchical_communities(G, settings.resolution, settings.seed, settings.max_cluster_size)
        frame["community"] = frame["node"].map(partition).astype("Int64")
        frame["hierarchy"] = [[int(level[v]) for level in levels] for v in frame["node"]]
        order = list(frame["node"])
        coords = force_layout(
            nx.to_scipy_sparse_array(G, nodelist=order, weight="weight", format="csr"), settings.seed
        )
        frame["x"], frame["y"] = coords[:, 0], coords[:, 1]
        frame["node"] = frame["node"].astype(str)
        frame["batch"] = frame["node"].map(batch_of) if node_type == "image" else None
        frame["node_type"], frame["variant"], frame["model"] = node_type, variant, model
        frames.append(frame[CENTRALITY_COLUMNS])
        stats[variant] = {
            "nodes": G.number_of_nodes(),
            "edges": G.number_of_edges(),
            "communities": len(set(partition.values())),
            "modularity": round(modularity(G, partition), 4),
            "hierarchy_levels": len(levels),
            "betweenness_sample_k": frame.attrs.get("betweenness_k"),
        }
    if not frames:
        return pd.DataFrame(columns=CENTRALITY_COLUMNS), stats
    return pd.concat(frames, ignore_index=True), stats


def community_table(
    model: str,
    centrality: pd.DataFrame,
    captions: pd.DataFrame,
    texts: pd.DataFrame,
    edges: pd.DataFrame | None = None,
    top_n: int = 5,
) -> pd.DataFrame:
    """A card per community of every image variant: level 0 is the flat Leiden partition, 1.. the hierarchy.

    Modularity is the whole partition's at that level (the same on every row of a level).
    """
    node_labels = {i: list(lab) for i, lab in zip(captions["image_id"], captions["labels"])}
    usable = texts[texts["source"].isin(["caption", "comment"])]
    node_texts = usable.groupby("image_id")["lemmas"].apply(lambda s: " ".join(x for x in s if x)).to_dict()
    frames = []
    images = centrality[centrality["node_type"] == "image"]
    for variant, table in images.groupby("variant", sort=False):
        graph = (
            network_from_edges(list(table["node"]), edges[edges["variant"] == variant])
            if edges is not None
            else None
        )
        partitions = [{n: int(c) for n, c in zip(table["node"], table["community"]) if pd.notna(c)}]
        depth = max((len(h) for h in table["hierarchy"]), default=0)
        partitions += [
            {n: int(h[level]) for n, h in zip(table["node"], table["hierarchy"])} for level in range(depth)
        ]
        for level, partition in enumerate(partitions):
            summary = summarize_communities(partition, table, node_labels, node_texts, top_n=top_n)
            if level >= 2:
                above = partitions[level - 1]
                first = {c: n for n, c in reversed(list(partition.items()))}
                summary["parent"] = summary["community"].map(lambda c, above=above, first=first: above[first[c]])
            else:
                summary["parent"] = None
            summary["level"] = level
            summary["modularity"] = modularity(graph, partition) if graph is not None else np.nan
            summary["variant"], summary["model"] = variant, model
            summary["summary_source"], summary["summary_error"] = "template", None  # narratives.py may replace
            frames.append(summary)
    if not frames:
        return pd.DataFrame(columns=COMMUNITY_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[COMMUNITY_COLUMNS]
    out["parent"] = out["parent"].astype("Int64")
    return out


def export_networks(
    model: str,
    captions: pd.DataFrame,
    edges: pd.DataFrame,
    centrality: pd.DataFrame,
    folder,
    formats=("gexf", "graphml"),
) -> dict[str, dict[str, str]]:
    """Each variant as <folder>/<model>/<variant>.<format> (GEXF, GraphML), node attributes from the
    centrality table. Files of formats or variants no longer configured are removed, so Gephi never
    opens a stale graph. Returns {variant: {format: path}}; nothing when `formats` is empty."""
    from pathlib import Path

    paths = _write_exports(model, captions, edges, centrality, folder, formats) if formats else {}
    written = {path for files in paths.values() for path in files.values()}
    for old in (Path(folder) / model).glob("*"):
        if old.suffix in (".gexf", ".graphml") and str(old) not in written:
            old.unlink()
    return paths


def _write_exports(
    model: str, captions: pd.DataFrame, edges: pd.DataFrame, centrality: pd.DataFrame, folder, formats
) -> dict[str, dict[str, str]]:
    from pathlib import Path

    nodes = graph_nodes(captions)
    labels_of = dict(zip(nodes["image_id"], nodes["labels"]))
    batch_of = dict(zip(nodes["image_id"], nodes["batch"]))
    paths = {}
    for variant in _graph_variants(edges):
        mine = edges[edges["variant"] == variant]
        if variant == BIPARTITE:
            G = bipartite_graph(
                {i: list(labels_of[i]) for i in nodes["image_id"]},
                sorted(t.removeprefix("label:") for t in set(mine["target"])),
            )
            attributes = centrality[centrality["variant"] == variant].set_index("node")
            for node in G:
                G.nodes[node]["node_type"] = "label" if str(node).startswith("label:") else "image"
                key = str(node).removeprefix("label:")
                if G.nodes[node]["node_type"] == "label" and key in attributes.index:
                    G.nodes[node].update(
                        community=int(attributes.loc[key, "community"]),
                        pagerank=float(attributes.loc[key, "pagerank"]),
                    )
        else:
            G = network_from_edges(list(nodes["image_id"]), mine)
            for row in mine.itertuples(index=False):
                G.edges[row.source, row.target].update({c: float(getattr(row, c)) for c in LAYER_COLUMNS.values()})
            attributes = centrality[centrality["variant"] == variant].set_index("node")
            for node in G:
                a = attributes.loc[node] if node in attributes.index else None
                G.nodes[node].update(
                    node_type="image", batch=str(batch_of.get(node)), labels=list(labels_of.get(node, []))
                )
                if a is not None:
                    G.nodes[node].update(
                        community=int(a["community"]),
                        pagerank=float(a["pagerank"]),
                        betweenness=float(a["betweenness"]),
                        x=float(a["x"]),
                        y=float(a["y"]),
                    )
        paths[variant] = {fmt: str(Path(folder) / model / f"{variant}.{fmt}") for fmt in formats}
        export_graph(G, paths[variant])
    return paths


def baseline_visual_features(
    checkpoint: str, images: pd.DataFrame, image_ids: list[str], read: Callable[[str], bytes], device: str = "cpu"
) -> dict:
    """image_id -> the baseline's penultimate-layer vector, for the images that decode."""
    from workbench_dagster.captioning.baseline import BaselineModel
    from workbench_dagster.storage.media import decode_image

    wanted = images[(images["status"] == "ok") & images["image_id"].isin(set(image_ids))].drop_duplicates(
        "image_id"
    )
    if wanted.empty:
        return {}
    fitted = BaselineModel.load(checkpoint, device)
    pictures, kept = [], []
    for image_id, uri in zip(wanted["image_id"], wanted["uri"]):
        try:
            pictures.append(decode_image(read(uri)))
            kept.append(image_id)
        except (OSError, ValueError):
            continue
    return dict(zip(kept, fitted.features(pictures))) if kept else {}


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


def network_figure(centrality: pd.DataFrame, edges: pd.DataFrame, title: str):
    """The network on its stored map positions (`x`, `y`), nodes coloured by community and sized by PageRank;
    edges are drawn up to 50,000 of them, beyond which they are only a grey fog."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    G = network_from_edges(list(centrality["node"]), edges)
    fig, ax = plt.subplots(figsize=(6, 6))
    if len(G):
        pos = {n: (x, y) for n, x, y in zip(centrality["node"], centrality["x"], centrality["y"])}
        community = dict(zip(centrality["node"], centrality["community"].fillna(-1).astype(int)))
        size = dict(zip(centrality["node"], centrality["pagerank"]))
        if G.number_of_edges() <= 50_000:
            nx.draw_networkx_edges(G, pos, ax=ax, alpha=0.15, width=0.5)
        nx.draw_networkx_nodes(
            G,
            pos,
            ax=ax,
            node_color=[community[n] for n in G],
            cmap="tab20",
            node_size=[20 + 30 * size[n] * len(G) for n in G],
        )
    ax.set_title(title)
    ax.axis("off")
    return fig


MAP_TAGS = 15  # communities named on the map, largest first


def map_figure(centrality: pd.DataFrame, title: str):
    """The 2-D map of the nodes coloured by community, the largest communities tagged with their id at
    their median position, so a reader can go from a cluster on the map to its card in `communities`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    if len(centrality):
        community = centrality["community"].fillna(-1).astype(int)
        ax.scatter(centrality["x"], centrality["y"], c=community, cmap="tab20", s=12, alpha=0.8)
        for c in community.value_counts().index[:MAP_TAGS]:
            members = centrality[community == c]
            ax.annotate(
                f"C{c}",
                (members["x"].median(), members["y"].median()),
                ha="center",
                va="center",
                fontsize=9,
                weight="bold",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7},
            )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
