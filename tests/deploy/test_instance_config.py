"""deploy/dagster.yaml on a real PostgreSQL server: the storages it names, the queue and its limits.

The per-model limit is checked with the counter the queued-run daemon itself uses
(TagConcurrencyLimitsCounter), over runs stored in PostgreSQL, with the tags Dagster gives a run
of a model x batch partition.
"""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._utils.tags import TagConcurrencyLimitsCounter

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def instance(tmp_path_factory, postgres, s3):
    home = tmp_path_factory.mktemp("home")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {**postgres.env, "DAGSTER_COMPUTE_LOGS_BUCKET": s3[1]}.items():
            patch.setenv(key, value)
        patch.setenv("DAGSTER_COMPUTE_LOGS_PREFIX", "logs")
        with dg.DagsterInstance.from_config(str(home)) as inst:
            yield inst


def _run(instance, run_id: str, model: str, batch: str, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    tags = {
        "dagster/partition": f"{batch}|{model}",
        "dagster/partition/batch": batch,
        "dagster/partition/model": model,
    }
    return instance.add_run(
        dg.DagsterRun(job_name="captioning__model_batch", run_id=run_id, tags=tags, status=status)
    )


def test_queue_pools_and_storages_are_the_deployments(instance):
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert instance.event_log_storage.supports_global_concurrency_limits
    settings = instance.get_concurrency_config()
    assert settings.pool_config.default_pool_limit == 1  # the gpu pool: one GPU step at a time


def test_one_run_per_model_at_a_time(instance):
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    started = _run(instance, "a" * 32, "gemini-flash", "b001", dg.DagsterRunStatus.STARTED)
    same_model = _run(
        instance, "b" * 32, "gemini-flash", "b002", dg.DagsterRunStatus.NOT_STARTED
    )  # the queue holds them (a QUEUED run needs a code origin)
    other_model = _run(
        instance, "c" * 32, "gpt-4o-mini", "b001", dg.DagsterRunStatus.NOT_STARTED
    )  # the queue holds them (a QUEUED run needs a code origin)
    in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    assert [r.run_id for r in in_progress] == [started.run_id]
    counter = TagConcurrencyLimitsCounter(limits, in_progress)
    assert counter.is_blocked(same_model)  # two runs of one API model never run together
    assert not counter.is_blocked(other_model)
