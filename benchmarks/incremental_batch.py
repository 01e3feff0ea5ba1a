"""One model's semantic graph after a batch of 50 arrives: full rebuild against the incremental update.

    python benchmarks/incremental_batch.py                 # corpus of 10,000 images, 50 new
    python benchmarks/incremental_batch.py --corpus 2000 --new 50
    python benchmarks/incremental_batch.py --runs 5 --no-centrality   # R five times over, for its spread

The corpus is networks_at_scale.py's (planted themes in labels, caption, comment and visual
layers; every variant of the default config). The new images sit at spread-out positions of
the id order, so every old node's index moves, the hard case for merging lists. The script
builds the state of the corpus without them, then times, on the corpus with them, the full
`build_semantic_graph` and `build_semantic_graph_incremental` from that state (a fresh copy
per repeat), checks the two edge tables are equal bit for bit, and times centralities and
Leiden on the result for scale (they are recomputed in full: see the printed figures; --no-centrality
skips them). With --runs, R is measured that many times and the last line is the median.
Target (issue 11, item 3): incremental/full <= 0.10 at 10,000 images on 2 cores.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from networks_at_scale import LABELS, corpus

from workbench_dagster.networks.incremental import layer_graphs_with_state
from workbench_dagster.networks.layers import layer_graphs
from workbench_dagster.networks.variants import (
    build_semantic_graph,
    build_semantic_graph_incremental,
    centrality_and_communities,
    graph_nodes,
)
from workbench_dagster.scenario.config import GraphConfig

REPEATS = 3


def timed(call):
    started = time.perf_counter()
    out = call()
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1, help="measure R this many times (each best of 3)")
    parser.add_argument("--no-centrality", action="store_true", help="skip the centrality timing (minutes)")
    args = parser.parse_args()
    print(f"cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    captions, embeddings, visual, _, _ = corpus(args.corpus + args.new)
    step = len(captions) // args.new
    new_ids = set(captions["image_id"].iloc[step // 2 :: step][: args.new])
    old_rows = ~captions["image_id"].isin(new_ids)
    old = (
        captions[old_rows],
        embeddings[~embeddings["image_id"].isin(new_ids)],
        {i: v for i, v in visual.items() if i not in new_ids},
    )
    settings = GraphConfig()
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state"
        seconds, (_, report) = timed(
            lambda: build_semantic_graph_incremental("m", *old[:2], LABELS, settings, old[2], state)
        )
        assert report["mode"] == "full", report
        print(f"state of the {len(old[0]):,}-image corpus built in {seconds:.1f} s (a full build)")
        ratios = []
        for run in range(args.runs):
            best_full, best_incremental, full = _one_run(
                Path(folder) / f"run{run}", state, captions, embeddings, visual, settings, args.new
            )
            ratios.append(best_incremental / best_full)
            print(
                f"run {run + 1}: seconds (best of {REPEATS}): full semantic_graph {best_full:.2f}, "
                f"incremental {best_incremental:.2f}, ratio {ratios[-1]:.3f}"
            )
        layers_full_s, layers_incremental_s = _layers_only(folder, state, captions, embeddings, visual, settings)
    per_variant = full["variant"].value_counts().to_dict()
    print(
        f"{len(captions):,} images ({args.new} new), edges per variant {per_variant}: incremental == full, bit for bit"
    )
    print(
        f"similarity layers alone (kNN lists, label lists, adjacency; no edge table): full {layers_full_s:.2f}, "
        f"incremental {layers_incremental_s:.2f}, ratio {layers_incremental_s / layers_full_s:.3f}"
    )
    if not args.no_centrality:
        import graspologic.partition  # noqa: F401  the ~8 s import is not the stage's time

        centrality_s, _ = timed(lambda: centrality_and_communities("m", captions, full, settings))
        print(f"centrality_table (centralities + Leiden + hierarchy + layout, all variants) {centrality_s:.2f} s")
    if len(ratios) > 1:
        print(
            f"ratio over {len(ratios)} runs: median {statistics.median(ratios):.3f}, "
            f"spread {min(ratios):.3f}-{max(ratios):.3f}"
        )
    print(f"incremental/full = {statistics.median(ratios):.3f}")


def _one_run(folder: Path, state: Path, captions, embeddings, visual, settings, new: int):
    """Best of REPEATS seconds of the full build and of the incremental one (from a fresh copy of the state
    each time), and the full build's table; the two tables are checked equal bit for bit each time."""
    full_s, incremental_s = [], []
    for attempt in range(REPEATS):
        seconds, full = timed(lambda: build_semantic_graph("m", captions, embeddings, LABELS, settings, visual))
        full_s.append(seconds)
        trial = folder / f"trial{attempt}"
        shutil.copytree(state, trial)
        seconds, (grown, report) = timed(
            lambda at=trial: build_semantic_graph_incremental(
                "m", captions, embeddings, LABELS, settings, visual, at
            )
        )
        incremental_s.append(seconds)
        assert report["mode"] == "incremental" and report["new_nodes"] == new, report
        pd.testing.assert_frame_equal(grown, full, check_exact=True)
    return min(full_s), min(incremental_s), full


def _layers_only(folder, state, captions, embeddings, visual, settings) -> tuple[float, float]:
    """Best-of-REPEATS seconds of the layers themselves, full and grown: the part the state replaces."""
    nodes = graph_nodes(captions)
    ids, label_sets = list(nodes["image_id"]), [list(x) for x in nodes["labels"]]
    full_s, grown_s = [], []
    for attempt in range(REPEATS):
        full_s.append(timed(lambda: layer_graphs(ids, label_sets, embeddings, LABELS, settings, visual))[0])
        trial = Path(folder) / f"layers{attempt}"
        shutil.copytree(state, trial)
        grown_s.append(
            timed(
                lambda at=trial: layer_graphs_with_state(ids, label_sets, embeddings, LABELS, settings, visual, at)
            )[0]
        )
    return min(full_s), min(grown_s)


if __name__ == "__main__":
    main()
