"""The daemon path of benchmarks/landing_automation.py at small size: a real `dagster-daemon` on a
temporary instance turns one landing folder into exactly the runs it needs, and then into none."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "landing_automation", ROOT / "benchmarks" / "landing_automation.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_one_landing_folder_runs_each_affected_partition_once_and_then_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    # 19 runs, each a fresh run-worker process: about 6 minutes alone on 2 cores, 14 beside the other
    # slow tests under pytest-xdist. The limit only stops a chain that hangs; speed is the benchmark's.
    out = _benchmark().run(tmp_path, images=5, watch=20, interval=3, timeout=1800, log=lambda _: None, models=1)
    log = (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]
    assert out.landing_to_warehouse_s is not None, log
    assert out.expected and not out.missed, (sorted(out.missed), log)
    assert out.repeated == {}, (out.repeated, out.launched)
    assert out.unaffected_runs == []
    assert out.runs_after_warehouse == 0
    # one run per (stage job, partition): never two runs of one job for one partition
    assert out.runs == sum(out.runs_per_job.values())
