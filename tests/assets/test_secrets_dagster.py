"""Issue 13, finding 3, the event-log half: during a real Dagster run of mllm_captions, each API backend's
fake server echoes the key (in an error body, and in a model's answer), and the key is found nowhere:
not under the data dir, not in any event record of the instance, not in its compute logs.

The instance lives on disk (sqlite event log and run storage, local compute logs), so what is searched
is what an operator's `dagster dev` would keep.
"""

from __future__ import annotations

import contextlib

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from assets._shared.runner import register_batches
from tests.fakes.common import contract_for
from tests.helpers import materialize_selected, write_config
from workbench_dagster.backends import registry
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

SECRET = "wb-canary-dagster-5e4d3c2b1a09"
KEY_ENV = "WB_CANARY_DAGSTER_KEY"
BACKENDS = registry.api_backends("caption")


def _model(name: str, base_url: str) -> dict:
    return {
        "id": f"canary-{name}",
        "backend": name,
        "model": "fake-model",
        "base_url": base_url,
        "api_key_env": KEY_ENV,
        "concurrency": 1,
        "max_retries": 0,
        "timeout_s": 5,
    }


@pytest.fixture(scope="module")
def echoed(tmp_path_factory):
    """Every API backend's partition materialized once against a server that echoes the key."""
    folder = tmp_path_factory.mktemp("canary")
    (folder / "dagster_home").mkdir()
    with contextlib.ExitStack() as stack, pytest.MonkeyPatch.context() as env:
        env.setenv(KEY_ENV, SECRET)
        servers = {}
        for name in BACKENDS:
            contract = contract_for(name)
            servers[name] = (stack.enter_context(contract.serve(contract.state([], api_key=SECRET))), contract)
        models = [{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}]
        models += [_model(name, server.url + contract.base_path) for name, (server, contract) in servers.items()]
        path = write_config(
            folder, batches=[{"id": "train", "n_images": 8}, {"id": "b001", "n_images": 3}], models=models
        )
        config = load_config(path)
        defs = build_definitions(config)
        instance = stack.enter_context(dg.DagsterInstance.local_temp(tempdir=str(folder / "dagster_home")))
        register_batches(instance, config)

        def materialize(assets, partition_key=None):
            return materialize_selected(defs, instance, assets, partition_key, raise_on_error=True)

        for batch in config.batch_ids:
            materialize(["prompts", "synthetic_images"], batch)
        materialize(["baseline_models"])
        captions = {}
        for name, (server, _) in servers.items():
            server.state.labels = config.scenario_data.label_ids
            server.state.faults.extend([{"echo_key": "error"}, {"echo_key": "answer"}])
            key = str(dg.MultiPartitionKey({"model": f"canary-{name}", "batch": "b001"}))
            captions[name] = materialize(["mllm_captions"], key).output_for_node("mllm_captions")
        yield config, instance, captions, folder / "dagster_home"


def test_each_server_echoed_the_key_and_the_rows_hold_it_masked(echoed):
    """Without this the searches below could pass because nothing was ever echoed."""
    _, _, captions, _ = echoed
    assert set(captions) == set(BACKENDS)
    for name, df in captions.items():
        text = " ".join(str(v) for v in df[["caption", "raw_output", "error"]].to_numpy().ravel())
        assert text.count(f"[REDACTED:{KEY_ENV}]") >= 2, name  # the error body and the answer
        assert sorted(df["parse_status"]) == ["error", "ok", "ok"], name


def test_the_key_is_in_no_file_under_the_data_dir(echoed):
    config, _, _, _ = echoed
    files = [path for path in config.data_dir.rglob("*") if path.is_file()]
    assert files and not [path for path in files if SECRET.encode() in path.read_bytes()]


def test_the_key_is_in_no_event_record_of_the_instance(echoed):
    _, instance, _, _ = echoed
    runs = instance.get_runs()
    assert len(runs) >= 3 + len(BACKENDS)
    records = [entry for run in runs for entry in instance.all_logs(run.run_id)]
    materialized = [r for r in records if r.dagster_event and r.dagster_event.is_step_materialization]
    assert materialized and any("[REDACTED:" in serialize_value(r) for r in materialized)
    leaked = [r for r in records if SECRET in serialize_value(r)]
    assert not leaked, [serialize_value(r)[:300] for r in leaked[:3]]


def test_the_key_is_in_no_compute_log_nor_any_file_of_the_instance(echoed):
    _, _, _, home = echoed
    logs = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.suffix == ".db" for path in logs)  # the event log itself, searched as bytes too
    assert not [path for path in logs if SECRET.encode() in path.read_bytes()]
    assert [path for path in logs if "compute_logs" in path.parts and path.suffix == ".err"]  # steps' stderr
