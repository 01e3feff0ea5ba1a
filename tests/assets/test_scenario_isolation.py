"""Configs never step on each other (issue 12, item 5): each runs on the instance under its data_dir,
its warehouse and landing area default to paths under data_dir, and a batch partition the instance
holds but the config does not name is never read as an input. Real runs of the whole graph."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from assets._shared.instance import prepare_instance_home
from assets._shared.partitions import BATCH_PARTITIONS, batch_of, is_config_batch, model_batch_partitions
from assets._shared.runner import run_pipeline
from tests.helpers import write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

BATCH_TABLES = ("prompts", "synthetic_images", "mllm_captions", "eval_scores", "centrality_table")


def small_config(folder: Path, held_out: str, data_dir: str) -> Path:
    """A tiny config naming only data_dir: warehouse and landing_dir take their defaults under it."""
    folder.mkdir()
    path = write_config(
        folder,
        data_dir=data_dir,
        batches=[{"id": "train", "n_images": 8}, {"id": held_out, "n_images": 4}],
        models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}],
        comments={"backend": "template", "per_image": 1},
        graph={"k": 3, "min_similarity": 0.1, "variants": ["labels"], "exports": []},
    )
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    del config["warehouse"], config["landing_dir"]
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def run(config_path: Path, foreign: list[str] = ()) -> tuple[list[str], dict[str, set[str]]]:
    """The runner on the config's own instance; `foreign` batches are registered there first, as a
    shared instance or a batch since removed from the config leaves them. Returns the instance's
    batch partitions and the batches each warehouse table holds."""
    config = load_config(config_path)
    with dg.DagsterInstance.from_config(str(prepare_instance_home(config))) as instance:
        if foreign:
            instance.add_dynamic_partitions(BATCH_PARTITIONS.name, list(foreign))
        results = run_pipeline(build_definitions(config), instance, config, log=lambda _: None)
        failed = [r.run_id for r in results if not r.success]
        assert not failed, f"{config_path}: runs failed: {failed}"
        partitions = instance.get_dynamic_partitions(BATCH_PARTITIONS.name)
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        batches = {
            t: {row[0] for row in con.sql(f"select distinct batch from {t} where batch is not null").fetchall()}
            for t in BATCH_TABLES
        }
    return partitions, batches


@pytest.mark.slow
def test_two_configs_run_one_after_the_other_and_back_without_seeing_each_other(tmp_path):
    first, second = small_config(tmp_path / "a", "b001", "data"), small_config(tmp_path / "b", "c001", "data_b")
    a, b = load_config(first), load_config(second)
    for config in (a, b):
        assert (config.warehouse, config.landing_dir) == (
            config.data_dir / "warehouse.duckdb",
            config.data_dir / "landing",
        )
    assert a.dagster_home != b.dagster_home

    partitions, batches = run(first)
    assert partitions == ["train", "b001"] and _seen(batches) == {"train", "b001"}, batches
    partitions, batches = run(second)
    assert partitions == ["train", "c001"] and _seen(batches) == {"train", "c001"}, batches
    # back to the first, its instance now also holding the other's batch: never loaded as an input
    partitions, batches = run(first, foreign=["c001"])
    assert "c001" in partitions
    assert _seen(batches) == {"train", "b001"} and batches["eval_scores"] == {"b001", "train"}, batches


def _seen(batches: dict[str, set[str]]) -> set[str]:
    """Every batch of every table, each table holding some."""
    assert all(batches.values()), batches
    return set().union(*batches.values())


def test_a_partition_belongs_to_a_config_by_its_batches_and_landing_folders(tmp_path, tiny_config_path):
    config = load_config(tiny_config_path)
    (config.landing_dir / "street photos").mkdir(parents=True)
    multi = model_batch_partitions(config)
    assert batch_of(multi, dg.MultiPartitionKey({"model": "base-a", "batch": "b001"})) == "b001"
    assert batch_of(multi, "b002|base-a") == "b002"
    assert batch_of(BATCH_PARTITIONS, "b001") == "b001"
    assert batch_of(dg.StaticPartitionsDefinition(["base-a"]), "base-a") is None
    ours = [
        b
        for b in ("train", "b001", "street_photos", "c001")
        if is_config_batch(config.batch_ids, config.landing_dir, b)
    ]
    assert ours == ["train", "b001", "street_photos"]
