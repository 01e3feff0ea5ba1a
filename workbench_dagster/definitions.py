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
    from assets import captioning, evaluation, generation, networks, reviews, text, warehouse

    stages = (generation, captioning, text, evaluation, reviews, networks, warehouse)
    return dg.Definitions.merge(*(stage.definitions(config) for stage in stages))


def build_definitions(config: WorkbenchConfig) -> dg.Definitions:
    from resources.gpu import GpuResource
    from resources.parquet_io import ParquetIOManager
    from resources.workbench import WorkbenchResource
    from sensors.landing import build_landing_sensor
    from sensors.nightly import build_nightly_schedules
    from sensors.reviews import build_review_sensor

    uses = dg.Definitions(
        resources={
            "workbench": WorkbenchResource(config_path=str(config.source_path)),
            "gpu": GpuResource(device=config.gpu.device, dtype=config.gpu.dtype),
            "io_manager": ParquetIOManager(
                base_path=str(config.tables_dir), batches=config.batch_ids, landing_dir=str(config.landing_dir)
            ),
        }
    )
    stages = dg.Definitions.merge(build_stage_definitions(config), uses)
    jobs = {job.name: job for job in stages.jobs}
    starts = dg.Definitions(
        sensors=[
            build_landing_sensor(jobs["generation__batch"]),
            build_review_sensor(jobs["reviews__batch"]),
            # Running from the start, so eager assets follow a new batch without a click.
            dg.AutomationConditionSensorDefinition(
                "workbench_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Evaluates the assets' eager automation conditions.",
            ),
        ],
        schedules=build_nightly_schedules(stages),
    )
    return dg.Definitions.merge(stages, starts)


def _load() -> dg.Definitions:
    load_dotenv(Path.cwd() / ".env")  # API keys for later backends; never logged
    return build_definitions(load_config(config_path_from_env()))


defs = _load()
