"""The asset graph as text, compared with a checked-in snapshot: a change to keys, groups, tags,
partitions, deps, kinds, code versions, automation, checks or jobs shows up as a diff to review.

Regenerate after an intended change: `UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/assets/test_asset_specs.py`.
"""

import os
from pathlib import Path

import dagster as dg
import pytest

from tests.helpers import write_config

SNAPSHOT = Path(__file__).with_name("asset_specs.snapshot.txt")


def describe_partitions(partitions_def) -> str:
    if partitions_def is None:
        return "none"
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        dims = ", ".join(
            f"{d.name}={describe_partitions(d.partitions_def)}" for d in partitions_def.partitions_defs
        )
        return f"multi({dims})"
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return f"dynamic({partitions_def.name})"
    return f"static({', '.join(partitions_def.get_partition_keys())})"


def describe_mapping(mapping) -> str:
    dimension = getattr(mapping, "partition_dimension_name", None)
    keys = getattr(mapping, "partition_keys", None)
    detail = dimension or (",".join(keys) if keys else "")
    return f"{type(mapping).__name__}({detail})" if detail else type(mapping).__name__


def render(defs: dg.Definitions) -> str:
    graph = defs.resolve_asset_graph()
    checks: dict[str, list[str]] = {}
    for key in graph.asset_check_keys:
        node = graph.get(key)
        checks.setdefault(key.asset_key.to_user_string(), []).append(
            f"{key.name}{' (blocking)' if node.blocking else ''}"
        )
    lines = []
    for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        name = spec.key.to_user_string()
        deps = [  # the mapping Dagster applies, inferred ones included
            f"{dep.asset_key.to_user_string()} [{describe_mapping(graph.get_partition_mapping(spec.key, dep.asset_key))}]"
            for dep in sorted(spec.deps, key=lambda d: d.asset_key.to_user_string())
        ]
        tags = sorted((k, v) for k, v in spec.tags.items() if not k.startswith("dagster/kind/"))  # kinds below
        condition = spec.automation_condition
        lines += [
            name,
            f"  group: {spec.group_name}",
            f"  tags: {', '.join(f'{k}={v}' for k, v in tags)}",
            f"  partitions: {describe_partitions(spec.partitions_def)}",
            f"  deps: {'; '.join(deps) or '-'}",
            f"  kinds: {', '.join(sorted(spec.kinds))}",
            f"  code_version: {spec.code_version or '-'}",
            f"  automation: {condition.get_label() or type(condition).__name__ if condition else '-'}",
            f"  pool: {graph.get(spec.key).pools and ', '.join(sorted(graph.get(spec.key).pools)) or '-'}",
            f"  checks: {', '.join(sorted(checks.get(name, []))) or '-'}",
        ]
    for job in sorted(defs.jobs, key=lambda j: j.name):
        selected = sorted(k.to_user_string() for k in job.selection.resolve(graph))
        lines.append(f"job {job.name}: {', '.join(selected)}")
    for schedule in sorted(defs.schedules, key=lambda s: s.name):
        lines.append(f"schedule {schedule.name}: {schedule.cron_schedule} -> {schedule.job_name}")
    for sensor in sorted(defs.sensors, key=lambda s: s.name):
        targets = ", ".join(sorted(t.job_name for t in sensor.targets)) if sensor.targets else "-"
        lines.append(f"sensor {sensor.name}: {targets}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> str:
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import load_config

    return render(build_definitions(load_config(write_config(tmp_path_factory.mktemp("specs")))))


def test_asset_specs_match_the_snapshot(rendered):
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(rendered, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: run with UPDATE_SNAPSHOTS=1 to write {SNAPSHOT.name}"
    assert rendered == SNAPSHOT.read_text(encoding="utf-8"), (
        "the asset graph changed; if that is intended, rerun with UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_the_snapshot_names_no_machine_path(rendered):
    assert str(Path.cwd()) not in rendered and "/tmp" not in rendered
