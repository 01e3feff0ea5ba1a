"""The semantic_graph edge table assembled from arrays: every variant's rows from one union of the layers.

The table is what `combine_graphs` + `upper_edges` + a lookup per layer column give (each
variant's weighted average of its layers, one row per pair with source before target in
node order, the layers' own values beside it), computed without a sparse product or a
lookup per entry: the layers are symmetric (similarity.symmetric_max), so each one's upper
triangle holds all it says, their union is found once (one compiled merge of the layers'
sorted rows, edge_kernels.py), and every variant's rows are written from it straight into the
table's float block. Weights are summed in the order combine_graphs sums them and scaled by
1 / total as scipy divides, so the values are the same floats. Strings (node ids,
labels, model, variant) are gathered into one Arrow array per column: building 700,000 rows
through pandas took longer than growing the layers by a batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from pandas.core.arrays.string_arrow import ArrowStringArray

from workbench_dagster.networks.tables import EDGE_COLUMNS
from workbench_dagster.networks.variant_registry import BIPARTITE, LAYER_COLUMNS, VARIANT_LAYERS
from workbench_dagster.scenario.config import GraphConfig

STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas 3's default "str" dtype
ARROW_STRINGS = pd.Series(["x"]).dtype == STR  # else (pandas 2) a column of Python strings is object


def layer_union(layers: dict[str, sp.csr_matrix]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (rows, cols: i < j, row-major) any layer links, and each layer's value on them (0.0 where
    it has none), one row of `values` per layer in the order of `layers`: one compiled merge of the
    layers' sorted rows."""
    from workbench_dagster.networks.edge_kernels import upper_union

    canonical = [sp.csr_matrix(adj) for adj in layers.values()]
    if not canonical:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.zeros((0, 0))
    for adj in canonical:
        adj.sum_duplicates()  # canonical: sorted indices, one entry per pair (a no-op on symmetric_max's)
    n = canonical[0].shape[0]
    sizes = np.cumsum([0] + [adj.nnz for adj in canonical[:-1]])
    indptr = np.vstack([adj.indptr.astype(np.int64) + start for adj, start in zip(canonical, sizes)])
    indices = np.concatenate([adj.indices for adj in canonical]).astype(np.int64, copy=False)
    data = np.concatenate([adj.data for adj in canonical]).astype(np.float64, copy=False)
    return upper_union(indptr, indices, data, n)


def _variant_plan(variants, names: list[str], weights: dict):
    """Per variant, the layers its weighted average adds (slots into `names`, in the variant's order, -1
    padded), their weights, 1 / their total as scipy scales, and which layer fills which edge column."""
    slots = {name: at for at, name in enumerate(names)}
    columns_of = {name: at for at, name in enumerate(LAYER_COLUMNS)}
    used = np.full((len(variants), len(LAYER_COLUMNS)), -1, dtype=np.int64)
    used_weights = np.zeros(used.shape)
    scales = np.zeros(len(variants))
    columns = np.full((len(variants), max(1, len(names))), -1, dtype=np.int64)
    for v, variant in enumerate(variants):
        mine = VARIANT_LAYERS[variant]
        adds = [name for name in mine if name in slots and weights[name] > 0]
        if not adds:
            raise ValueError("combine_graphs needs at least one graph")
        total = sum(weights[name] for name in adds)
        if total <= 0:
            raise ValueError(f"graph weights must sum to a positive number, got {total}")
        used[v, : len(adds)] = [slots[name] for name in adds]
        used_weights[v, : len(adds)] = [weights[name] for name in adds]
        scales[v] = 1 / total  # scipy divides a sparse matrix by multiplying with 1 / total
        for name in mine:
            if name in slots:
                columns[v, slots[name]] = columns_of[name]
    return used, used_weights, scales, columns


def _strings(pool: list[str], codes: np.ndarray):
    """The strings pool[codes] as one Arrow column: Arrow's own take, about 10 ns a row, where
    indexing a pandas string array with the same codes took ten times that."""
    column = pa.array(pool, type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int64)))
    return _column(column)


def _column(column: pa.Array):
    """The column as pandas holds strings by default: Arrow-backed "str", or object under pandas 2."""
    return ArrowStringArray(column, dtype=STR) if ARROW_STRINGS else column.to_numpy(zero_copy_only=False)


def _runs(names: list[str], counts: list[int]):
    """names[0] counts[0] times, then names[1] counts[1] times, ...: the model and variant columns, by the
    same take (a quarter of the time of joining the bytes ourselves)."""
    return _strings(names, np.repeat(np.arange(len(names), dtype=np.int64), counts))


def bipartite_pairs(label_sets: list[list[str]], labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(image index, label index) of each image's taxonomy labels, in the image's own order, once each.

    Worked out once per distinct label list, then spread over the images that have it."""
    index = {lab: j for j, lab in enumerate(labels)}
    kinds: dict[tuple, int] = {}
    kind = np.fromiter(
        (kinds.setdefault(tuple(labs), len(kinds)) for labs in label_sets), dtype=np.int64, count=len(label_sets)
    )
    found = [[index[lab] for lab in dict.fromkeys(labs) if lab in index] for labs in kinds]
    sizes = np.asarray([len(f) for f in found], dtype=np.int64)
    pool = np.asarray([j for f in found for j in f], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    per_image = sizes[kind]
    images = np.repeat(np.arange(len(label_sets), dtype=np.int64), per_image)
    within = np.arange(len(images)) - np.repeat(np.cumsum(per_image) - per_image, per_image)
    return images, pool[np.repeat(starts[kind], per_image) + within]


def edge_table(
    model: str,
    ids: list[str],
    label_sets: list[list[str]],
    layers: dict[str, sp.csr_matrix],
    labels: list[str],
    settings: GraphConfig,
) -> pd.DataFrame:
    """Every configured variant's edges (in config order, each row-major), then the image-label rows, one table."""
    from workbench_dagster.networks.edge_kernels import variant_rows, variant_weights

    n, variants = len(ids), list(settings.variants)
    rows, cols, values = layer_union(layers)
    plan = _variant_plan(variants, list(layers), settings.layer_weights.model_dump())
    used, used_weights, scales, columns = plan
    weights, counts = variant_weights(values, used, used_weights, scales)
    counts = [int(c) for c in counts]
    images, found = bipartite_pairs(label_sets, labels)
    counts.append(len(images))
    numbers = ["weight", *LAYER_COLUMNS.values()]
    total = sum(counts)
    block = np.zeros((len(numbers), total))  # pandas' own layout of float columns: no consolidating copy
    sources, targets = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    written = variant_rows(values, rows, cols, weights, columns, block, sources, targets)
    block[0, written:] = 1.0  # the image-label rows: weight 1, no layer values
    sources[written:] = images
    targets[written:] = n + found  # label targets follow the ids in the pool of target names
    frame = pd.DataFrame(block.T, columns=numbers, copy=False)
    strings = {
        "model": _runs([model], [sum(counts)]),
        "variant": _runs([*variants, BIPARTITE], counts),
        "source": _strings(ids, sources),
        "target": _strings([*ids, *(f"label:{lab}" for lab in labels)], targets),
    }
    for at, (column, values) in enumerate(strings.items()):
        frame.insert(at, column, values)
    return frame[EDGE_COLUMNS] if list(frame.columns) != EDGE_COLUMNS else frame
