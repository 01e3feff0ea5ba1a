"""The whole graph on the deployment's parts: the Dagster instance on a real PostgreSQL server
(deploy/dagster.yaml as shipped, credentials from the environment) and every artefact in a real S3
API (moto's server), at a small size. Nothing may be written to a local data folder, nor to
DAGSTER_HOME beyond its dagster.yaml."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from PIL import Image
from upath import UPath

from assets._shared.runner import run_pipeline
from tests.helpers import ROOT, write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.provenance.identity import load_or_create
from workbench_dagster.scenario.config import load_config

pytestmark = pytest.mark.slow
PREFIX = "run1"


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _landed_png(i: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40 * i, 90, 200 - 30 * i)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, postgres, s3, monkeypatch_module):
    server, bucket = s3
    root = f"s3://{bucket}/{PREFIX}"
    folder = tmp_path_factory.mktemp("config")
    # The C2PA signing key is a secret: a deployment mounts it (a Kubernetes secret), never in the bucket
    identity = tmp_path_factory.mktemp("secrets") / "identity"
    load_or_create(identity)
    path = write_config(
        folder,
        provenance={"identity_dir": str(identity)},
        data_dir=root,
        warehouse=f"{root}/warehouse.duckdb",
        landing_dir=f"{root}/landing",
        batches=[{"id": "train", "n_images": 16}, {"id": "b001", "n_images": 6}],
        models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}],
    )
    for i in range(3):  # a batch dropped into the landing prefix, as a sensor would find it
        UPath(f"{root}/landing/drop1/img{i}.png").write_bytes(_landed_png(i))
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {**postgres.env, "DAGSTER_HOME": str(home), "DAGSTER_COMPUTE_LOGS_BUCKET": bucket}
    env["DAGSTER_COMPUTE_LOGS_PREFIX"] = f"{PREFIX}/compute_logs"
    for key, value in env.items():
        monkeypatch_module.setenv(key, value)
    before = _files(folder)
    config = load_config(path)
    instance = dg.DagsterInstance.from_config(str(home))
    defs = build_definitions(config)
    results = run_pipeline(defs, instance, config, log=lambda _: None)
    again = run_pipeline(defs, instance, config, log=lambda _: None)
    yield config, instance, results, again, folder, before, home, root
    instance.dispose()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_run_succeeds_on_postgres_and_a_second_pass_runs_nothing(deployed):
    config, instance, results, again, *_ = deployed
    assert results and all(r.success for r in results)
    assert again == []  # the update plan, read back from PostgreSQL, finds nothing stale
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert instance.get_runs_count() == len(results)
    assert set(instance.get_dynamic_partitions("prompt_batches")) == {"train", "b001", "drop1"}


def test_nothing_is_written_locally(deployed):
    _, _, _, _, folder, before, home, _ = deployed
    assert _files(folder) == before  # no data/ next to the config, nothing else either
    assert _files(home) == {"dagster.yaml"}  # no storage/, history/, schedules/ or logs


def test_every_artefact_is_in_the_bucket(deployed):
    config, *_, root = deployed
    keys = [
        k.removeprefix(root.removeprefix("s3://") + "/") for k in UPath(root).fs.find(root.removeprefix("s3://"))
    ]
    tops = {k.split("/", 1)[0] for k in keys}
    assert {"images", "tables", "cache", "models", "state", "exports", "reviews", "landing"} <= tops, tops
    assert "warehouse.duckdb" in keys
    assert any(k.startswith("cache/calls/segments/") for k in keys)
    assert any(k.startswith("cache/vectors/segments/") for k in keys)
    assert any(k.startswith("tables/mllm_captions/") for k in keys)
    assert any(k.startswith("reviews/queue/b001/") and k.endswith("tasks.json") for k in keys)
    assert any(k.startswith("exports/base-a/") and k.endswith(".gexf") for k in keys)


def test_step_logs_go_to_the_bucket(deployed, s3, tmp_path):
    """The in-process runner captures no step logs (a launched run does): a separate process, as a run
    worker is, loads the instance from DAGSTER_HOME and drives its manager as a run worker drives it,
    and the object is read back from the bucket. In this process, under pytest-xdist, dagster's `tail -F`
    mirror never finished."""
    import subprocess
    import sys

    import boto3

    _, instance, *_ = deployed
    assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
    script = (
        "import dagster as dg\n"
        "manager = dg.DagsterInstance.get().compute_log_manager\n"
        "assert type(manager).__name__ == 'S3ComputeLogManager', type(manager)\n"
        "with manager.capture_logs(['deploy-test', 'step']):\n"
        "    print('hello from a step', flush=True)\n"
    )
    # files, not pipes: dagster's `tail -F` mirror may outlive the process and hold a pipe open
    err = tmp_path / "step.err"
    with err.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=stderr, timeout=300
        )
    assert done.returncode == 0, err.read_text()[-3000:]
    listing = boto3.client("s3").list_objects_v2(Bucket=s3[1], Prefix=f"{PREFIX}/compute_logs/")
    keys = [o["Key"] for o in listing.get("Contents", [])]
    out = next(k for k in keys if k.endswith("deploy-test/step.out"))
    assert b"hello from a step" in boto3.client("s3").get_object(Bucket=s3[1], Key=out)["Body"].read()


def test_the_published_warehouse_reads_back_with_s3_image_uris(deployed, tmp_path):
    config, *_, root = deployed
    local = tmp_path / "warehouse.duckdb"
    local.write_bytes(UPath(config.warehouse).read_bytes())
    with duckdb.connect(str(local), read_only=True) as con:
        captions = con.execute("select count(*) from mllm_captions").fetchone()[0]
        board = con.execute("select model from model_leaderboard").fetchall()
        uris = [u for (u,) in con.execute("select uri from synthetic_images where status = 'ok'").fetchall()]
    assert captions == 16 + 6 + 3
    assert board == [("base-a",)]
    assert uris and all(u.startswith(f"{root}/images/") for u in uris)
