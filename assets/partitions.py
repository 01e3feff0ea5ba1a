"""The partitions of the design.

`model` is static, read from the config when the code location loads: models are named in
`workbench.yaml`, a change there reloads the location anyway, and static keys let the UI,
schedules and partition mappings know every model up front. `batch` is dynamic because the
landing sensor adds batches at run time.
"""

import warnings

import dagster as dg

from workbench_dagster.scenario.config import WorkbenchConfig

BATCH_PARTITIONS = dg.DynamicPartitionsDefinition(name="prompt_batches")


def model_partitions(config: WorkbenchConfig) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(config.model_ids)


def model_batch_partitions(config: WorkbenchConfig) -> dg.MultiPartitionsDefinition:
    # Dimensions sort by name, so a key string reads "batch|model".
    return dg.MultiPartitionsDefinition({"model": model_partitions(config), "batch": BATCH_PARTITIONS})


def model_and_batch(context) -> tuple[str, str]:
    keys = context.partition_key.keys_by_dimension
    return keys["model"], keys["batch"]


with warnings.catch_warnings():
    # Beta in 1.13, yet the design's chosen way for corpus assets to read every batch of a model.
    warnings.simplefilter("ignore", dg.BetaWarning)
    ALL_BATCHES_OF_MODEL = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="model")
