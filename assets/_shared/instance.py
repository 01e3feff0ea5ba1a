"""Each config's own Dagster instance, and the release of runs whose process died.

Two configs on one instance see each other's batch partitions, so every config runs on the
instance under its data_dir (`WorkbenchConfig.dagster_home`), configured by the one shipped file,
`.dagster_home/dagster.yaml` (the gpu pool limit, run monitoring).

A run killed with SIGKILL never reports its end: it stays STARTED and keeps its `gpu` pool slot,
so the next run waits for that slot forever. Run monitoring cannot see it, since the default run
launcher has no worker health check (only the runtime limit would end it, hours later), so
`make demo` and `make dev` release such runs before they start: every run records its worker's
pid in its RUN_START event, and a run whose process is gone is marked failed and its slots freed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType

from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.scenario.config import WorkbenchConfig, config_path_from_env, load_config

SHIPPED_INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / ".dagster_home" / "dagster.yaml"
_HELD = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]  # a process is running them
_HEADER = f"# Written from {SHIPPED_INSTANCE_CONFIG} before each run of this config; edit that file.\n"


def config_and_home() -> tuple[WorkbenchConfig, Path]:
    """For the scripts: the config WORKBENCH_CONFIG selects and its prepared instance folder. A bad
    config exits with status 2 and its message (the file and the field), not a traceback."""
    try:
        config = load_config(config_path_from_env())
    except WorkbenchConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    return config, prepare_instance_home(config)


def prepare_instance_home(config: WorkbenchConfig) -> Path:
    """The config's instance folder, holding the shipped instance config (rewritten when it changed)."""
    home = config.dagster_home
    if config.is_remote:  # DAGSTER_HOME, the deployment's instance (deploy/dagster.yaml): left as it is
        return home
    home.mkdir(parents=True, exist_ok=True)
    text = _HEADER + SHIPPED_INSTANCE_CONFIG.read_text(encoding="utf-8")
    target = home / "dagster.yaml"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return home


def release_dead_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Marks failed every running run whose process is gone and frees the pool slots of every run
    that is over; logs what it freed and returns those runs' ids."""
    released = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=_HELD)):
        run = record.dagster_run
        pid = _worker_pid(instance, run.run_id)
        if pid is None or _process_alive(pid, record.start_time):
            continue
        slots = _free_slots(instance, run.run_id)
        instance.report_run_failed(
            run, f"The run's process (pid {pid}) is gone; marked failed before a new start."
        )
        log(f"Released dead run {run.run_id} ({_what(run)}, pid {pid} gone): marked failed, freed {slots}")
        released.append(run.run_id)
    if instance.event_log_storage.supports_global_concurrency_limits:
        for run_id in sorted(instance.event_log_storage.get_concurrency_run_ids()):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                slots = _free_slots(instance, run_id)
                log(f"Released run {run_id} ({run.status.value if run else 'deleted'}): freed {slots}")
                released.append(run_id)
    return released


def _what(run: dg.DagsterRun) -> str:
    """The runner's stage jobs and partition, else the job's name."""
    partition = run.tags.get("dagster/partition")
    return run.tags.get("workbench/jobs", run.job_name) + (f", partition {partition}" if partition else "")


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    event = records[0].event_log_entry.dagster_event if records else None
    return event.pid if event is not None else None


def _process_alive(pid: int, run_started: float | None) -> bool:
    """A zombie is dead, and so is a pid that a newer process took over after the run began."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():  # no procfs (macOS): existence is all we can tell
        return True
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, IndexError, StopIteration):
        return True
    if fields[0] == "Z":
        return False
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return run_started is None or started <= run_started + 2  # the clock tick and btime are coarse


def _free_slots(instance: dg.DagsterInstance, run_id: str) -> str:
    """Frees what the run holds in every pool; says what that was ("pool gpu: step embeddings")."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return "no pool slots (this storage keeps none)"
    held = [
        f"pool {pool}: step {slot.step_key}"
        for pool in sorted(storage.get_concurrency_keys())
        for slot in storage.get_concurrency_info(pool).claimed_slots
        if slot.run_id == run_id
    ]
    storage.free_concurrency_slots_for_run(run_id)
    return ", ".join(held) if held else "no pool slots"
