"""The Dagster code location. The only module of this package that imports Dagster.

The config is validated here, at load time: a bad `workbench.yaml` stops the load with the
file, the field and what was expected. Each stage module under `assets/` brings its own assets,
checks and jobs; this module merges them and adds what starts runs and what the assets use.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dotenv import load_dotenv

from workbench_dagster.scenario.config import WorkbenchConfig, config_path_from_env, load_config


def build_stage_definitions(config: WorkbenchConfig) -> dg.Definitions:
    """The stages in pipeline order; the order breaks ties when jobs are ordered by the graph."""
    from assets import (
        audit,
        captioning,
        dataset,
        evaluation,
        generation,
        networks,
        provenance,
        reviews,
        text,
        warehouse,
    )

    stages = (generation, provenance, captioning, text, evaluation, audit, reviews, networks, dataset, warehouse)
    return dg.Definitions.merge(*(stage.definitions(config) for stage in stages))


def build_definitions(config: WorkbenchConfig) -> dg.Definitions:
    from resources.gpu import GpuResource
    from resources.parquet_io import ParquetIOManager
    from resources.workbench import WorkbenchResource
    from sensors.nightly import build_nightly_schedules
    from sensors.updates import build_updates_sensor

    uses = dg.Definitions(
        resources={
            "workbench": WorkbenchResource(config_path=str(config.source_path)),
            "gpu": GpuResource(device=config.gpu.device, dtype=config.gpu.dtype),
            "io_manager": ParquetIOManager(
                base_path=str(config.tables_dir),
                batches=config.batch_ids,
                landing_dir=str(config.landing_dir),
                config_path=str(config.source_path),
            ),
        }
    )
    stages = dg.Definitions.merge(build_stage_definitions(config), uses)
    # One plan drives what starts runs; no eager automation, which fired downstream once per upstream.
    starts = dg.Definitions(
        sensors=[build_updates_sensor(stages, list(stages.jobs))],
        schedules=build_nightly_schedules(stages, list(stages.jobs)),
        executor=dg.in_process_executor,
    )
    return dg.Definitions.merge(stages, starts)


def _load() -> dg.Definitions:
    load_dotenv(Path.cwd() / ".env")  # API keys for later backends; never logged
    return build_definitions(load_config(config_path_from_env()))


defs = _load()
