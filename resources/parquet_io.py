"""Parquet tables, one file per asset partition, on a local folder or `s3://`.

A UPathIOManager (the design's idiom) rather than DuckDBPandasIOManager, which cannot load
partitions of multi-partitioned assets with a dynamic dimension (Dagster issue 32631).
"""

import dagster as dg
import pandas as pd
from upath import UPath

from workbench_dagster.storage.atomic import read_parquet, write_parquet_atomic


class ParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: pd.DataFrame, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: expected a pandas DataFrame, got {type(obj).__name__}"
            )
        write_parquet_atomic(obj, path)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return read_parquet(path)

    def load_partitions(self, context: dg.InputContext) -> pd.DataFrame:
        """Rows carry their own model and batch columns, so many partitions are one concatenated frame."""
        loaded = super().load_partitions(context)
        if isinstance(loaded, dict):
            frames = [frame for frame in loaded.values() if frame is not None]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return loaded


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    base_path: str

    def create_io_manager(self, context) -> ParquetUPathIOManager:
        return ParquetUPathIOManager(base_path=UPath(self.base_path))
