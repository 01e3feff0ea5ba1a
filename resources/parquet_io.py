"""Parquet tables, one file per asset partition, on a local folder or `s3://`.

A UPathIOManager (the design's idiom) rather than DuckDBPandasIOManager, which cannot load
partitions of multi-partitioned assets with a dynamic dimension (Dagster issue 32631).

Every materialization also records what the update plan needs (workbench_dagster/freshness.py):
the data hash of the bytes written, the data hash of every input partition the step read, and the
fingerprint of the config and sources it was made from.
"""

import hashlib
import io
from functools import lru_cache
from pathlib import Path

import dagster as dg
import pandas as pd
from upath import UPath

from assets._shared.partitions import batch_of, is_config_batch, model_of
from workbench_dagster.freshness import DATA_HASH, FINGERPRINT, INPUTS, pair_id
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.fingerprint import SOURCES_METADATA, Fingerprints
from workbench_dagster.storage.atomic import write_bytes_atomic


def data_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


@lru_cache(maxsize=8)
def _config(config_path: str, mtime: float):
    return load_config(config_path)


class ParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def __init__(self, base_path: UPath, batches: list[str], landing_dir: UPath, config_path: str | None = None):
        super().__init__(base_path=base_path)
        self.batches = batches
        self.landing_dir = landing_dir
        self.config_path = config_path
        self._read: dict[tuple[str, str], dict[str, str]] = {}  # (run, step) -> pair -> data hash

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: expected a pandas DataFrame, got {type(obj).__name__}"
            )
        buffer = io.BytesIO()
        obj.to_parquet(buffer, index=False)
        write_bytes_atomic(UPath(path), buffer.getvalue())
        metadata = {
            DATA_HASH: data_hash(buffer.getvalue()),
            INPUTS: dg.MetadataValue.json(
                dict(sorted(self._read.get((context.run_id, context.step_key), {}).items()))
            ),
        }
        fingerprint = self._fingerprint(context)
        if fingerprint is not None:
            metadata[FINGERPRINT] = fingerprint
        context.add_output_metadata(metadata)

    def _fingerprint(self, context: dg.OutputContext) -> str | None:
        if not self.config_path:
            return None
        path = Path(self.config_path)
        key = context.asset_partition_key if context.has_asset_partitions else None
        definition = context.definition_metadata or {}
        sources = (
            tuple(str(definition.get(SOURCES_METADATA, "")).split(",")) if definition.get(SOURCES_METADATA) else ()
        )
        partitions_def = context.asset_partitions_def if key is not None else None
        # a new Fingerprints per output: the landing folders and the inbox are read as they are now
        return Fingerprints(_config(str(path), path.stat().st_mtime)).of(
            batch_of(partitions_def, key), model_of(partitions_def, key), sources
        )

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        data = UPath(path).read_bytes()
        self._last_hash = data_hash(data)
        return pd.read_parquet(io.BytesIO(data))

    def _remember(self, context: dg.InputContext, key: str | None) -> None:
        step = context.step_context
        name = context.asset_key.to_user_string()
        self._read.setdefault((step.run_id, step.step.key), {})[pair_id(name, key)] = self._last_hash

    def load_input(self, context: dg.InputContext):
        value = super().load_input(context)
        if not context.has_asset_partitions and context.has_asset_key:
            self._remember(context, None)
        return value

    def load_partitions(self, context: dg.InputContext) -> pd.DataFrame:
        """Rows carry their own model and batch columns, so many partitions are one concatenated frame.

        An input of many partitions (every batch of a model, ...) reads only the config's batches: the
        instance may know others (another config's, one since removed), whose files are not this config's.
        One partition is the step's own and is read as asked.
        """
        keys = context.asset_partition_keys
        ours = keys if len(keys) == 1 else [key for key in keys if self._ours(context.asset_partitions_def, key)]
        if len(ours) < len(keys):
            context.log.info(
                f"{context.asset_key.to_user_string()}: {len(keys) - len(ours)} partition(s) of batches "
                "outside this config left out"
            )
        paths = self._get_paths_for_partitions(context)
        backcompat = self._get_multipartition_backcompat_paths(context)
        frames = []
        for key in ours:
            frame = self._load_partition_from_path(context, key, paths[key], backcompat.get(key))
            if frame is not None:  # missing ones, where allowed, are not read
                self._remember(context, str(key))
                frames.append(frame)
        if len(keys) == 1:
            return frames[0] if frames else pd.DataFrame()  # a missing partition comes back only where allowed
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _get_paths_for_partitions(self, context) -> dict:
        """A specific-partitions mapping hands multi-partition keys over as plain "batch|model" strings,
        which the base class would file under one folder name: give them the folders they were written to."""
        paths = super()._get_paths_for_partitions(context)
        partitions_def = context.asset_partitions_def
        if isinstance(partitions_def, dg.MultiPartitionsDefinition):
            asset_path = self._get_path_without_extension(context)
            for key in [k for k in paths if not isinstance(k, dg.MultiPartitionKey)]:
                parts = partitions_def.get_partition_key_from_str(key).keys_by_dimension
                folder = "/".join(value for _, value in sorted(parts.items()))
                paths[key] = self._with_extension(self.get_path_for_partition(context, asset_path, folder))
        return paths

    def _ours(self, partitions_def: dg.PartitionsDefinition, key) -> bool:
        batch = batch_of(partitions_def, key)
        return batch is None or is_config_batch(self.batches, self.landing_dir, batch)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    base_path: str
    batches: list[str]  # the config's; with landing_dir's folders, the batches an input may read
    landing_dir: str
    config_path: str | None = None  # the fingerprints' config; without it none is recorded

    def create_io_manager(self, context) -> ParquetUPathIOManager:
        return ParquetUPathIOManager(
            UPath(self.base_path), self.batches, UPath(self.landing_dir), self.config_path
        )
