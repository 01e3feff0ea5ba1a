"""Runs that die release what they hold (issue 13, finding 1).

A real run in a subprocess, on the config's own instance (the shipped instance config: `gpu` pool
limit 1), is SIGKILLed while its step holds the `gpu` slot. It stays STARTED and keeps the slot;
the next runner start (`make demo`) or `scripts/clean_stale_runs.py` (`make dev`) must mark it
failed and free the slot, so the next run completes instead of waiting for the slot forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets._shared.instance import prepare_instance_home, release_dead_runs
from assets._shared.stage import SHAPE_TAG, STAGE_TAG
from tests.helpers import ROOT, write_config
from workbench_dagster.scenario.config import load_config

NEXT_RUN_TIMEOUT_S = 240  # a run that waits for a dead run's slot fails the test here, not hangs it


@dg.asset(pool="gpu")
def hold_gpu() -> None:
    """Holds the gpu slot for WB_HOLD_S seconds, after writing its pid to WB_MARKER."""
    marker = os.environ.get("WB_MARKER")
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get("WB_HOLD_S", "0")))


def gpu_definitions() -> dg.Definitions:
    """One stage job of one gpu asset, tagged as the runner expects of a stage job."""
    job = dg.define_asset_job(
        "gpu__unpartitioned", selection=[hold_gpu], tags={STAGE_TAG: "gpu", SHAPE_TAG: "unpartitioned"}
    )
    return dg.Definitions(assets=[hold_gpu], jobs=[job])


def main() -> None:
    """The subprocess: the runner on the config's instance, as scripts/demo.py runs it."""
    from assets._shared.runner import run_pipeline

    config = load_config()
    with dg.DagsterInstance.from_config(str(prepare_instance_home(config))) as instance:
        results = run_pipeline(gpu_definitions(), instance, config, log=lambda line: print(line, flush=True))
    print("ALL SUCCEEDED" if all(r.success for r in results) else "SOME FAILED", flush=True)


def _runner(config_path: Path, **env: str) -> list[str]:
    code = "from tests.assets.test_dead_runs import main; main()"
    return [sys.executable, "-c", code], {**os.environ, "WORKBENCH_CONFIG": str(config_path), **env}


def killed_run(tmp_path: Path) -> tuple[Path, dg.DagsterInstance, str]:
    """A config, its instance, and the id of a run SIGKILLed while it held the gpu slot."""
    config_path = write_config(tmp_path)
    config = load_config(config_path)
    marker = tmp_path / "holding"
    argv, env = _runner(config_path, WB_MARKER=str(marker), WB_HOLD_S="600")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run never reached its step: {proc.stderr.read().decode()[-3000:]}")
            time.sleep(0.2)
        instance = dg.DagsterInstance.from_config(str(config.dagster_home))
        assert release_dead_runs(instance, log=lambda _: None) == []  # its process lives: left alone
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()  # reaped, so its pid is gone rather than a zombie
    (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED
    assert [s.run_id for s in instance.event_log_storage.get_concurrency_info("gpu").claimed_slots] == [run.run_id]
    return config_path, instance, run.run_id


def test_the_runner_releases_a_killed_run_so_the_next_run_completes(tmp_path):
    config_path, instance, dead = killed_run(tmp_path)
    argv, env = _runner(config_path, WB_MARKER="", WB_HOLD_S="0")
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=NEXT_RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the next run did not finish in {NEXT_RUN_TIMEOUT_S}s: blocked by the dead run's gpu slot")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Released dead run {dead} (gpu__unpartitioned, pid " in done.stdout
    assert "marked failed, freed pool gpu: step hold_gpu" in done.stdout
    assert "ALL SUCCEEDED" in done.stdout
    statuses = {run.run_id: run.status for run in instance.get_runs()}
    assert statuses.pop(dead) == dg.DagsterRunStatus.FAILURE
    assert list(statuses.values()) == [dg.DagsterRunStatus.SUCCESS]
    assert instance.event_log_storage.get_concurrency_info("gpu").claimed_slots == []


def clean_stale_runs(env: dict[str, str]) -> subprocess.CompletedProcess:
    """scripts/clean_stale_runs.py, as `make dev` runs it before `dagster dev`."""
    argv = [sys.executable, "scripts/clean_stale_runs.py"]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_make_dev_script_releases_a_killed_run_on_the_configs_instance(tmp_path):
    config_path, instance, dead = killed_run(tmp_path)
    env = {**os.environ, "WORKBENCH_CONFIG": str(config_path), "DAGSTER_HOME": str(tmp_path / "elsewhere")}
    done = clean_stale_runs(env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(load_config(config_path).dagster_home)  # what `make dev` hands dagster dev
    assert f"Released dead run {dead}" in done.stderr and "freed pool gpu: step hold_gpu" in done.stderr
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("gpu").claimed_slots == []


def test_a_finished_run_that_still_holds_a_slot_is_freed(tmp_path):
    """As after a run marked failed by hand or by run monitoring, which frees nothing."""
    config = load_config(write_config(tmp_path))
    with dg.DagsterInstance.from_config(str(prepare_instance_home(config))) as instance:
        job = gpu_definitions().resolve_job_def("gpu__unpartitioned")
        run = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("gpu")  # as a run's first gpu step does
        assert storage.claim_concurrency_slot("gpu", run.run_id, "hold_gpu").is_claimed
        instance.report_run_failed(run, "marked failed by hand")
        lines: list[str] = []
        assert release_dead_runs(instance, log=lines.append) == [run.run_id]
        assert lines == [f"Released run {run.run_id} (FAILURE): freed pool gpu: step hold_gpu"]
        assert storage.get_concurrency_info("gpu").claimed_slots == []


def test_each_configs_instance_runs_on_the_shipped_instance_config(tmp_path):
    config = load_config(write_config(tmp_path))
    home = prepare_instance_home(config)
    assert home == config.dagster_home == config.data_dir / "dagster"
    (home / "dagster.yaml").write_text("telemetry: {enabled: true}\n", encoding="utf-8")  # stale: rewritten
    with dg.DagsterInstance.from_config(str(prepare_instance_home(config))) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        assert instance.run_monitoring_max_runtime_seconds > 0
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_make_dev_script_stops_on_a_bad_config_with_its_file_and_field(tmp_path):
    config_path = write_config(tmp_path, graph={"k": "many"})
    env = {**os.environ, "WORKBENCH_CONFIG": str(config_path)}
    done = clean_stale_runs(env)
    assert done.returncode == 2 and done.stdout == ""  # `make dev` stops instead of starting on no instance
    assert str(config_path) in done.stderr and "graph.k" in done.stderr and "Traceback" not in done.stderr
