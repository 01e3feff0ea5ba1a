"""The partitions of the design, and the names of their shapes.

`model` is static, read from the config when the code location loads: models are named in
`workbench.yaml`, a change there reloads the location anyway, and static keys let the UI,
schedules and partition mappings know every model up front. `batch` is dynamic because the
landing sensor adds batches at run time.

A run cannot mix partitions definitions, so a stage whose assets are partitioned differently
runs as one job per shape; the shape's name is the asset's `workbench/partitions` tag.
"""

import itertools
import warnings
from pathlib import Path

import dagster as dg

from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.storage.landing import find_landing_folder

BATCH_PARTITIONS = dg.DynamicPartitionsDefinition(name="prompt_batches")
UNPARTITIONED = "unpartitioned"


def model_partitions(config: WorkbenchConfig) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(config.model_ids)


def model_batch_partitions(config: WorkbenchConfig) -> dg.MultiPartitionsDefinition:
    # Dimensions sort by name, so a key string reads "batch|model".
    return dg.MultiPartitionsDefinition({"model": model_partitions(config), "batch": BATCH_PARTITIONS})


def model_and_batch(context) -> tuple[str, str]:
    keys = context.partition_key.keys_by_dimension
    return keys["model"], keys["batch"]


def shape_of(partitions_def: dg.PartitionsDefinition | None) -> str:
    """`batch`, `model`, `model_batch` or `unpartitioned`: the name jobs and schedules use."""
    if partitions_def is None:
        return UNPARTITIONED
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return "_".join(shape_of(d.partitions_def) for d in reversed(partitions_def.partitions_defs))
    return "batch" if partitions_def == BATCH_PARTITIONS else "model"


def partition_keys(partitions_def: dg.PartitionsDefinition | None, batches: list[str]) -> list:
    """Every key of a shape over the given batches (not every batch the instance knows), models
    outermost, so one model's batches run back to back."""
    if partitions_def is None:
        return [None]
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        dims = list(reversed(partitions_def.partitions_defs))
        combos = itertools.product(*(partition_keys(d.partitions_def, batches) for d in dims))
        return [dg.MultiPartitionKey({d.name: key for d, key in zip(dims, combo)}) for combo in combos]
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return list(batches)
    return list(partitions_def.get_partition_keys())


def batch_of(partitions_def: dg.PartitionsDefinition | None, key) -> str | None:
    """The batch a partition key names, or None for a shape without batches."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        if not isinstance(key, dg.MultiPartitionKey):
            key = partitions_def.get_partition_key_from_str(key)
        return key.keys_by_dimension.get("batch")
    return str(key) if partitions_def == BATCH_PARTITIONS else None


def model_of(partitions_def: dg.PartitionsDefinition | None, key) -> str | None:
    """The model a partition key names, or None for a shape without models."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        if not isinstance(key, dg.MultiPartitionKey):
            key = partitions_def.get_partition_key_from_str(key)
        return key.keys_by_dimension.get("model")
    if partitions_def is None or partitions_def == BATCH_PARTITIONS:
        return None
    return str(key)


def is_config_batch(config_batches: list[str], landing_dir: Path, batch: str) -> bool:
    """A batch of the config: named in it, or a folder of its landing area. A partition the instance
    holds for any other batch (another config's, one removed from the config) is never an input."""
    return batch in config_batches or find_landing_folder(landing_dir, batch) is not None


with warnings.catch_warnings():
    # Beta in 1.13, yet the design's chosen way for corpus assets to read every batch of a model,
    # and for a batch's assets to read every model of it.
    warnings.simplefilter("ignore", dg.BetaWarning)
    ALL_BATCHES_OF_MODEL = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="model")
    ALL_MODELS_OF_BATCH = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="batch")
