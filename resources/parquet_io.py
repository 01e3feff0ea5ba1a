"""Parquet tables, one file per asset partition, on a local folder or `s3://`.

A UPathIOManager (the design's idiom) rather than DuckDBPandasIOManager, which cannot load
partitions of multi-partitioned assets with a dynamic dimension (Dagster issue 32631).
"""

from pathlib import Path

import dagster as dg
import pandas as pd
from upath import UPath

from assets._shared.partitions import batch_of, is_config_batch
from workbench_dagster.storage.atomic import read_parquet, write_parquet_atomic


class ParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def __init__(self, base_path: UPath, batches: list[str], landing_dir: Path):
        super().__init__(base_path=base_path)
        self.batches = batches
        self.landing_dir = landing_dir

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: expected a pandas DataFrame, got {type(obj).__name__}"
            )
        write_parquet_atomic(obj, path)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return read_parquet(path)

    def load_partitions(self, context: dg.InputContext) -> pd.DataFrame:
        """Rows carry their own model and batch columns, so many partitions are one concatenated frame.

        An input of many partitions (every batch of a model, ...) reads only the config's batches: the
        instance may know others (another config's, one since removed), whose files are not this config's.
        One partition is the step's own and is read as asked.
        """
        keys = context.asset_partition_keys
        if len(keys) == 1:
            return super().load_partitions(context)
        ours = [key for key in keys if self._ours(context.asset_partitions_def, key)]
        if len(ours) < len(keys):
            context.log.info(
                f"{context.asset_key.to_user_string()}: {len(keys) - len(ours)} partition(s) of batches "
                "outside this config left out"
            )
        paths = self._get_paths_for_partitions(context)
        backcompat = self._get_multipartition_backcompat_paths(context)
        frames = [self._load_partition_from_path(context, key, paths[key], backcompat.get(key)) for key in ours]
        frames = [frame for frame in frames if frame is not None]  # missing ones, where allowed
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _ours(self, partitions_def: dg.PartitionsDefinition, key) -> bool:
        batch = batch_of(partitions_def, key)
        return batch is None or is_config_batch(self.batches, self.landing_dir, batch)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    base_path: str
    batches: list[str]  # the config's; with landing_dir's folders, the batches an input may read
    landing_dir: str

    def create_io_manager(self, context) -> ParquetUPathIOManager:
        return ParquetUPathIOManager(UPath(self.base_path), self.batches, Path(self.landing_dir))
