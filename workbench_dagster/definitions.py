"""The Dagster code location. The only module of this package that imports Dagster.

The config is validated here, at load time: a bad `workbench.yaml` stops the load with the
file, the field and what was expected.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dotenv import load_dotenv

from workbench_dagster.scenario.config import WorkbenchConfig, config_path_from_env, load_config


def build_definitions(config: WorkbenchConfig) -> dg.Definitions:
    from assets.captioning import build_captioning_assets
    from assets.checks import build_checks
    from assets.evaluation import build_evaluation_assets
    from assets.generation import prompts, synthetic_comments, synthetic_images
    from assets.networks import build_network_assets
    from assets.reviews import build_review_assets
    from assets.text_and_embeddings import build_text_assets
    from assets.warehouse import build_warehouse_asset
    from resources.gpu import GpuResource
    from resources.parquet_io import ParquetIOManager
    from resources.workbench import WorkbenchResource
    from sensors.landing import build_landing_sensor
    from sensors.nightly import build_nightly_schedules, build_stage_jobs
    from sensors.reviews import build_review_sensor

    assets = [
        prompts,
        synthetic_images,
        synthetic_comments,
        *build_captioning_assets(config),
        *build_text_assets(config),
        *build_evaluation_assets(config),
        *build_review_assets(config),
        *build_network_assets(config),
        build_warehouse_asset(config),
    ]
    by_name = {a.key.to_user_string(): a for a in assets}
    jobs = build_stage_jobs(config)
    return dg.Definitions(
        assets=assets,
        asset_checks=build_checks(config, by_name),
        jobs=list(jobs.values()),
        sensors=[
            build_landing_sensor(jobs["batch"]),
            build_review_sensor(jobs["batch_eval"]),
            # Running from the start, so eager assets follow a new batch without a click.
            dg.AutomationConditionSensorDefinition(
                "workbench_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Evaluates the assets' eager automation conditions.",
            ),
        ],
        schedules=build_nightly_schedules(config, jobs),
        resources={
            "workbench": WorkbenchResource(config_path=str(config.source_path)),
            "gpu": GpuResource(device=config.gpu.device, dtype=config.gpu.dtype),
            "io_manager": ParquetIOManager(base_path=str(config.tables_dir)),
        },
    )


def _load() -> dg.Definitions:
    load_dotenv(Path.cwd() / ".env")  # API keys for later backends; never logged
    return build_definitions(load_config(config_path_from_env()))


defs = _load()
