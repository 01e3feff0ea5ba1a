"""The image-label bipartite graph, its label projection, and the label rows the pipeline makes of it."""

import networkx as nx
import numpy as np
import pandas as pd

from tests.helpers import SETTINGS, TAXONOMY, reference_centrality
from workbench_dagster.networks.bipartite import bipartite_graph, label_projection
from workbench_dagster.networks.variant_registry import BIPARTITE
from workbench_dagster.networks.variants import centrality_and_communities


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
