"""The semantic_graph edge table assembled from arrays: every variant's rows from one union of the layers.

The table is what `combine_graphs` + `upper_edges` + a lookup per layer column give (each
variant's weighted average of its layers, one row per pair with source before target in
node order, the layers' own values beside it), computed without a sparse product or a
lookup per entry: the layers are symmetric (similarity.symmetric_max), so each one's upper
triangle holds all it says, their union is found once, and every variant is a mask and a
few vector operations on it. Weights are summed in the order combine_graphs sums them and
scaled by 1 / total as scipy divides, so the values are the same floats. Strings (node ids,
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


def _upper(adj: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Keys row * n + col of the entries above the diagonal, ascending, and their values."""
    adj = sp.csr_matrix(adj)
    adj.sum_duplicates()  # canonical: sorted indices, one entry per pair
    n = adj.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(adj.indptr))
    above = adj.indices > rows
    return rows[above] * n + adj.indices[above], np.asarray(adj.data[above], dtype=np.float64)


def layer_union(layers: dict[str, sp.csr_matrix]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The pairs (row-major keys) any layer links, and each layer's value on them (0.0 where it has none)."""
    uppers = {name: _upper(adj) for name, adj in layers.items()}
    keys = np.unique(np.concatenate([k for k, _ in uppers.values()])) if uppers else np.empty(0, np.int64)
    values = {}
    for name, (own, data) in uppers.items():
        column = np.zeros(len(keys))
        column[np.searchsorted(keys, own)] = data
        values[name] = column
    return keys, values


def _variant_rows(variant, keys, values, weights) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(positions in the union, weight, layer columns) of one variant's edges."""
    mine = VARIANT_LAYERS[variant]
    used = [(values[name], weights[name]) for name in mine if name in values and weights[name] > 0]
    if not used:
        raise ValueError("combine_graphs needs at least one graph")
    total = sum(weight for _, weight in used)
    if total <= 0:
        raise ValueError(f"graph weights must sum to a positive number, got {total}")
    combined = 0 + used[0][0] * used[0][1]
    for column, weight in used[1:]:
        combined = combined + column * weight
    combined = combined * (1 / total)  # scipy divides a sparse matrix by multiplying with 1 / total
    at = np.flatnonzero(combined != 0)
    weight = np.minimum(np.maximum(combined[at], 0.0), 1.0)  # np.clip, at a fifth of its time
    keep = weight != 0
    at, weight = at[keep], weight[keep]
    columns = {
        column: values[name][at] if name in mine and name in values else None
        for name, column in LAYER_COLUMNS.items()
    }
    return at, weight, columns


def _strings(pool: list[str], codes: np.ndarray):
    """The strings pool[codes] as one Arrow column: Arrow's own take, about 10 ns a row, where
    indexing a pandas string array with the same codes took ten times that."""
    column = pa.array(pool, type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int64)))
    return _column(column)


def _column(column: pa.Array):
    """The column as pandas holds strings by default: Arrow-backed "str", or object under pandas 2."""
    return ArrowStringArray(column, dtype=STR) if ARROW_STRINGS else column.to_numpy(zero_copy_only=False)


def _runs(names: list[str], counts: list[int]):
    """names[0] counts[0] times, then names[1] counts[1] times, ...: the model and variant columns."""
    encoded = [name.encode() for name in names]
    lengths = np.repeat([len(b) for b in encoded], counts).astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(b * count for b, count in zip(encoded, counts))
    column = pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data))
    return _column(column)


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
    n, variants, weights = len(ids), list(settings.variants), settings.layer_weights.model_dump()
    keys, values = layer_union(layers)
    sources, targets, weight_parts = [], [], []
    column_parts: dict[str, list[np.ndarray]] = {column: [] for column in LAYER_COLUMNS.values()}
    for variant in variants:
        at, weight, columns = _variant_rows(variant, keys, values, weights)
        sources.append(keys[at] // n)
        targets.append(keys[at] % n)
        weight_parts.append(weight)
        for column, got in columns.items():
            column_parts[column].append(got if got is not None else np.zeros(len(at)))
    images, found = bipartite_pairs(label_sets, labels)
    sources.append(images)
    targets.append(n + found)  # label targets follow the ids in the pool of target names
    weight_parts.append(np.ones(len(images)))
    for parts in column_parts.values():
        parts.append(np.zeros(len(images)))
    counts = [len(part) for part in weight_parts]
    numbers = {"weight": weight_parts, **column_parts}
    block = np.empty((len(numbers), sum(counts)))  # pandas' own layout of float columns: no consolidating copy
    for row, parts in zip(block, numbers.values()):
        np.concatenate(parts, out=row)
    frame = pd.DataFrame(block.T, columns=list(numbers), copy=False)
    strings = {
        "model": _runs([model], [sum(counts)]),
        "variant": _runs([*variants, BIPARTITE], counts),
        "source": _strings(ids, np.concatenate(sources)),
        "target": _strings([*ids, *(f"label:{lab}" for lab in labels)], np.concatenate(targets)),
    }
    for at, (column, values) in enumerate(strings.items()):
        frame.insert(at, column, values)
    return frame[EDGE_COLUMNS] if list(frame.columns) != EDGE_COLUMNS else frame
