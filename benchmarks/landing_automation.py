"""One landing folder through a real `dagster-daemon`: how many runs, of what, and how long to the warehouse.

Builds a small corpus in process on a temporary instance, then starts `dagster-daemon run` (and
nothing else) on that instance, drops a folder of images into the landing directory, waits until
the warehouse shows the batch and no run is in flight, watches a while longer, and prints the runs
launched, the materializations per asset, and the seconds from landing to warehouse. Targets:
every affected (asset, partition) materialized exactly once, no run for a partition the batch does
not affect, no run after the warehouse update.

    python benchmarks/landing_automation.py [--images 20] [--watch 300] [--interval 10]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

FOLDER = "street drop"
BATCH = "street_drop"


@dataclass
class Outcome:
    runs: int
    runs_per_job: dict
    materializations: Counter  # (asset, partition) -> count after the drop
    expected: set  # (asset, partition) pairs the plan said the folder affects
    unaffected_runs: list  # partitions run that the plan did not name
    runs_after_warehouse: int
    landing_to_warehouse_s: float | None
    launched: list  # (job, partition, status, reason) per run, in launch order

    @property
    def repeated(self) -> dict:
        return {pair: n for pair, n in self.materializations.items() if n > 1}

    @property
    def missed(self) -> set:
        """The new batch's own asset partitions that never ran. (The plan at the drop also names
        partitions that only might change, such as a batch's reviews once the inbox is re-read;
        those run only if their inputs' bytes do change.)"""
        return {(a, k) for a, k in self.expected if BATCH in str(k)} - set(self.materializations)


def _drop_images(folder: Path, n: int) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True)
    for i in range(n):
        image = Image.new("RGB", (96, 72), ((37 * i) % 256, (91 * i) % 256, (53 * i) % 256))
        ImageDraw.Draw(image).rectangle([i % 40, 10, 40 + i % 40, 50], fill=(250, 250, 250))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        (folder / f"post_{i:03d}.png").write_bytes(buffer.getvalue())


def _warehouse_has(warehouse: Path, batch: str) -> bool:
    import duckdb

    if not warehouse.exists():
        return False
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute("select count(*) from mllm_captions where batch = ?", [batch]).fetchone()[0] > 0
    except duckdb.Error:
        return False


def _in_flight(instance) -> int:
    import dagster as dg

    statuses = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING]
    statuses += [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
    return len(instance.get_run_records(dg.RunsFilter(statuses=statuses)))


def run(
    workdir: Path, images: int, watch: float, interval: int, timeout: float, log=print, models: int = 2
) -> Outcome:
    import dagster as dg

    from assets._shared.runner import run_pipeline
    from assets._shared.updates import plan
    from tests.helpers import write_config
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import load_config

    models_config = [
        {"id": "base-a", "backend": "baseline", "params": {"channels": 8, "epochs": 2}},
        {"id": "base-b", "backend": "baseline", "params": {"channels": 8, "epochs": 1, "lr": 0.01}},
    ][:models]
    config_path = write_config(
        workdir, batches=[{"id": "train", "n_images": 24}, {"id": "b001", "n_images": 6}], models=models_config
    )
    config = load_config(config_path)
    home = workdir / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / ".dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "WORKBENCH_CONFIG": str(config_path)}
    env["WORKBENCH_UPDATES_INTERVAL"] = str(interval)
    env.setdefault("WORKBENCH_LANDING_SETTLE", "5")
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "WORKBENCH_CONFIG")})
    defs = build_definitions(config)
    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        run_pipeline(defs, instance, config, log=lambda _: None)
        log(f"base corpus built in process in {time.perf_counter() - started:.0f}s")
        (workdir / "workspace.yaml").write_text(
            "load_from:\n  - python_module:\n      module_name: workbench_dagster.definitions\n"
            "      location_name: workbench\n      working_directory: " + json.dumps(str(ROOT)) + "\n"
        )
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(workdir / "workspace.yaml")],
            cwd=ROOT,
            env=env,
            stdout=(workdir / "daemon.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            return _watch(instance, defs, config, workdir, images, watch, timeout, plan, log)
        finally:
            daemon.terminate()
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()


def _watch(instance, defs, config, workdir, images, watch, timeout, plan, log) -> Outcome:
    import dagster as dg

    time.sleep(5)  # the daemon's first sensor tick finds nothing stale
    dropped = time.time()
    _drop_images(config.landing_dir / FOLDER, images)
    instance.add_dynamic_partitions("prompt_batches", [BATCH])  # so the plan can name what it affects
    affected = plan(defs, instance, config, config.batch_ids + [BATCH])
    expected = {(asset, item.key) for item in affected.items for asset in item.assets}
    log(f"dropped {images} images into {config.landing_dir / FOLDER}: {len(expected)} asset partitions affected")
    reached = None
    while time.time() - dropped < timeout:
        time.sleep(5)
        settled = _warehouse_has(config.warehouse, BATCH) and not _in_flight(instance)
        if settled and not plan(defs, instance, config, config.batch_ids + [BATCH]):
            reached = time.time()
            break
    log(f"warehouse shows {BATCH} after {reached - dropped:.0f}s" if reached else "timed out before the warehouse")
    time.sleep(watch)
    runs = instance.get_run_records(dg.RunsFilter(created_after=_utc(dropped)))
    after = [r for r in runs if reached and r.create_timestamp.timestamp() > reached]
    counts = Counter()
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_timestamp=dropped), limit=10_000
        ).records
        for record in records:
            counts[(key.to_user_string(), record.partition_key)] += 1
    unaffected = sorted({str((a, k)) for (a, k) in counts if (a, k) not in expected})
    return Outcome(
        runs=len(runs),
        runs_per_job=dict(Counter(r.dagster_run.job_name for r in runs)),
        materializations=counts,
        expected=expected,
        unaffected_runs=unaffected,
        runs_after_warehouse=len(after),
        landing_to_warehouse_s=(reached - dropped) if reached else None,
        launched=[
            (
                r.dagster_run.job_name,
                r.dagster_run.tags.get("dagster/partition"),
                r.dagster_run.status.value,
                r.dagster_run.tags.get("workbench/reason", "")[:200],
            )
            for r in sorted(runs, key=lambda r: r.create_timestamp)
        ],
    )


def _utc(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--watch", type=float, default=300, help="seconds to watch after the warehouse update")
    parser.add_argument("--interval", type=int, default=10, help="the updates sensor's interval, seconds")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wb-landing-") as tmp:
        out = run(Path(tmp), args.images, args.watch, args.interval, args.timeout)
    print(f"runs launched: {out.runs}")
    print(f"runs per job: {json.dumps(out.runs_per_job, sort_keys=True)}")
    per_asset = Counter(asset for asset, _ in out.materializations.elements())
    print(f"materializations per asset: {json.dumps(dict(sorted(per_asset.items())))}")
    print(
        f"asset partitions the plan named at the drop: {len(out.expected)}; materialized: {len(out.materializations)}"
    )
    print(f"the new batch's partitions never run: {sorted(map(str, out.missed))}")
    print(f"materialized more than once: {out.repeated}")
    for job, partition, status, reason in out.launched:
        print(f"  run {job} [{partition}] {status}: {reason}")
    print(f"runs for unaffected partitions: {len(out.unaffected_runs)} {out.unaffected_runs[:10]}")
    print(f"runs after the warehouse update (in {args.watch:.0f}s watched): {out.runs_after_warehouse}")
    seconds = f"{out.landing_to_warehouse_s:.0f}" if out.landing_to_warehouse_s is not None else "timeout"
    print(f"landing to warehouse = {seconds} s")


if __name__ == "__main__":
    main()
