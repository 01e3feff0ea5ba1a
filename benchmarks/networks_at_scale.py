"""The whole network stage of one model at corpus scale, stage by stage.

    python benchmarks/networks_at_scale.py             # n = 20,000 images
    python benchmarks/networks_at_scale.py --n 100000  # minutes

What `semantic_graph`, `centrality_table` and `communities` do for one model, on a synthetic
corpus with planted themes in every layer: the three variants plus the bipartite graph, then
centralities, Leiden and hierarchical Leiden, the map layout, the community cards, the
Gephi exports, and the omnibus embedding against a second model. Prints the seconds of each stage and how well the `labels_captions` communities
recover the planted themes (ARI), so a speed-up that breaks the result shows.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workbench_dagster.networks.community_cards import community_table
from workbench_dagster.networks.comparison import image_divergence
from workbench_dagster.networks.exports import export_networks
from workbench_dagster.networks.variants import build_semantic_graph, centrality_and_communities
from workbench_dagster.scenario.config import GraphConfig

LABELS = [f"label{i:02d}" for i in range(30)]
WORDS = ["march", "banner", "candle", "flyer", "square", "night", "crowd", "mural", "vigil", "court"]


def corpus(n: int, seed: int = 0, themes: int = 40):
    rng = np.random.default_rng(seed)
    theme = rng.integers(0, themes, n)
    ids = [f"b{i % 20:02d}-img{i:06d}" for i in range(n)]

    def layer(dim: int, noise: float) -> np.ndarray:
        centers = rng.normal(size=(themes, dim)).astype(np.float32)
        return centers[theme] + noise * rng.normal(size=(n, dim)).astype(np.float32)

    caption, comment, visual = layer(384, 1.2), layer(384, 1.6), layer(64, 1.2)
    core = rng.integers(0, len(LABELS), (themes, 3))
    labels = [
        list(
            {LABELS[j] for j in core[t][: rng.integers(1, 4)]}
            | ({LABELS[rng.integers(0, 30)]} if rng.random() < 0.3 else set())
        )
        for t in theme
    ]
    captions = pd.DataFrame(
        {
            "image_id": ids,
            "batch": [i.split("-")[0] for i in ids],
            "labels": labels,
            "parse_status": "ok",
            "caption": [f"a {WORDS[t % 10]} scene" for t in theme],
        }
    )
    embeddings = pd.concat(
        [
            pd.DataFrame({"image_id": ids, "source": "caption", "vector": list(caption)}),
            pd.DataFrame({"image_id": ids, "source": "comment", "vector": list(comment)}),
        ],
        ignore_index=True,
    )
    texts = pd.DataFrame(
        {
            "image_id": ids,
            "source": "caption",
            "lemmas": [f"{WORDS[t % 10]} {WORDS[(t // 10) % 10]} people" for t in theme],
        }
    )
    return captions, embeddings, dict(zip(ids, visual)), texts, theme


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    print(f"cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    captions, embeddings, visual, texts, theme = corpus(args.n)
    settings = GraphConfig()
    timings = {}

    def timed(name, fn):
        started = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - started
        return out

    import graspologic.partition  # noqa: F401  the ~8 s import is not the stage's time

    edges = timed(
        "semantic_graph", lambda: build_semantic_graph("m", captions, embeddings, LABELS, settings, visual)
    )
    centrality, stats = timed(
        "centrality_table", lambda: centrality_and_communities("m", captions, edges, settings)
    )
    cards = timed("communities", lambda: community_table("m", centrality, captions, texts, edges))
    with tempfile.TemporaryDirectory() as folder:
        timed("exports", lambda: export_networks("m", captions, edges, centrality, folder))
    # A second model that sees the same images a little differently, for the cross-model stage.
    _, other_embeddings, other_visual, _, _ = corpus(args.n, seed=1)
    other = build_semantic_graph("m2", captions, other_embeddings, LABELS, settings, other_visual)
    timed("image_divergence (2 models)", lambda: image_divergence(pd.concat([edges, other]), settings.seed))
    images = centrality[(centrality["variant"] == "labels_captions")].set_index("node").loc[captions["image_id"]]
    ari = adjusted_rand_score(theme, images["community"].astype(int))
    per_variant = {v: (s["edges"], s["communities"]) for v, s in stats.items()}
    print(f"n={args.n:,} images, edges and communities per variant: {per_variant}")
    print(
        "seconds: "
        + ", ".join(f"{name} {s:.1f}" for name, s in timings.items())
        + f"; total {sum(timings.values()):.1f}; {len(cards)} community cards; "
        f"labels_captions ARI against the planted themes {ari:.3f}"
    )


if __name__ == "__main__":
    main()
