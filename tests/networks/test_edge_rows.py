"""The edge table assembled from arrays is the one the sparse formulation gives, bit for bit: each
variant's combine_graphs average clipped to [0, 1], its upper_edges, each layer's value looked up per
pair, then the image-label rows (networks/edge_rows.py)."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import SETTINGS, TAXONOMY, planted_corpus
from workbench_dagster.networks.adjacency import upper_edges
from workbench_dagster.networks.edge_rows import edge_table
from workbench_dagster.networks.layers import layer_graphs
from workbench_dagster.networks.similarity import combine_graphs
from workbench_dagster.networks.tables import EDGE_COLUMNS
from workbench_dagster.networks.variant_registry import BIPARTITE, LAYER_COLUMNS, VARIANT_LAYERS, VARIANTS
from workbench_dagster.networks.variants import graph_nodes
from workbench_dagster.scenario.config import GraphConfig


def sparse_reference(model, ids, label_sets, layers, labels, weights) -> pd.DataFrame:
    """The table as variants.py built it before edge_rows.py: scipy products and pandas frames."""
    frames = []
    for variant in VARIANTS:
        mine = VARIANT_LAYERS[variant]
        combined = combine_graphs([(layers[n], weights[n]) for n in mine if n in layers and weights[n] > 0])
        np.clip(combined.data, 0.0, 1.0, out=combined.data)
        upper = upper_edges(combined)
        frame = {"model": model, "variant": variant, "source": np.asarray(ids, dtype=object)[upper.row]}
        frame |= {"target": np.asarray(ids, dtype=object)[upper.col], "weight": upper.data.astype(float)}
        for name, column in LAYER_COLUMNS.items():
            inside = name in mine and name in layers
            frame[column] = np.asarray(layers[name][upper.row, upper.col]).ravel() if inside else 0.0
        frames.append(pd.DataFrame(frame, columns=EDGE_COLUMNS))
    pairs = [
        (i, f"label:{lab}") for i, labs in zip(ids, label_sets) for lab in dict.fromkeys(labs) if lab in labels
    ]
    bipartite = {"model": model, "variant": BIPARTITE, "source": [p[0] for p in pairs]}
    bipartite |= {"target": [p[1] for p in pairs], "weight": 1.0, **dict.fromkeys(LAYER_COLUMNS.values(), 0.0)}
    frames.append(pd.DataFrame(bipartite, columns=EDGE_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"model": "str", "variant": "str", "source": "str", "target": "str"}).astype(
        dict.fromkeys(["weight", *LAYER_COLUMNS.values()], float)
    )


@pytest.mark.parametrize(
    "weights",
    [
        {"label": 1.0, "caption": 1.0, "comment": 1.0, "visual": 1.0},
        {"label": 0.3, "caption": 0.0, "comment": 2.5, "visual": 0.7},  # a layer at weight 0 keeps its column
    ],
)
@pytest.mark.parametrize("with_visual", [True, False])
def test_array_assembly_equals_the_sparse_one(weights, with_visual):
    captions, embeddings, visual, _, _ = planted_corpus(seed=3)
    nodes = graph_nodes(captions)
    ids, label_sets = list(nodes["image_id"]), [list(x) for x in nodes["labels"]]
    label_sets[0] = [*label_sets[0], "not-in-taxonomy", label_sets[0][0]]  # ignored, and counted once
    layers = layer_graphs(ids, label_sets, embeddings, TAXONOMY, SETTINGS, visual if with_visual else None)
    got = edge_table(
        "m",
        ids,
        label_sets,
        layers,
        TAXONOMY,
        GraphConfig.model_validate({**SETTINGS.model_dump(), "layer_weights": weights}),
    )
    expected = sparse_reference("m", ids, label_sets, layers, TAXONOMY, weights)
    assert len(got) > len(ids)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
