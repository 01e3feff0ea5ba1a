"""Config mistakes found at load, not minutes later in an asset: model params and paths (issue 13, finding 7)."""

from pathlib import Path

import pytest

from tests.helpers import write_config
from workbench_dagster.backends import registry
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.scenario.config import load_config

BASE = {"id": "base-a", "backend": "baseline"}
OPENAI = {"id": "o", "backend": "openai", "model": "gpt-4o-mini", "base_url": "http://localhost:1/v1"}


def load_error(folder: Path, **overrides) -> tuple[Path, str]:
    path = write_config(folder, **overrides)
    with pytest.raises(WorkbenchConfigError) as info:
        load_config(path)
    return path, str(info.value)


# --- params ------------------------------------------------------------------------------


def test_a_misspelt_baseline_param_fails_the_load_with_path_keys_and_the_close_match(tmp_path):
    path, message = load_error(tmp_path, models=[{**BASE, "params": {"epoch": 30}}])
    assert str(path) in message
    assert "models[0].params.epoch" in message
    assert "did you mean 'epochs'?" in message
    assert "accepted: channels, epochs, lr, batch_size, weight_decay" in message


@pytest.mark.parametrize(
    "params, key, expected",
    [
        ({"epochs": 2.5}, "epochs", "valid integer"),
        ({"lr": 0}, "lr", "greater than 0"),
        ({"channels": True}, "channels", "not a boolean"),
        ({"batch_size": "big"}, "batch_size", "valid integer"),
    ],
)
def test_a_bad_baseline_param_value_fails_the_load(tmp_path, params, key, expected):
    path, message = load_error(tmp_path, models=[BASE, {**BASE, "id": "base-b", "params": params}])
    assert str(path) in message
    assert f"models[1].params.{key}" in message
    assert expected in message


def test_backends_that_take_no_params_say_so_and_point_to_the_entry_field(tmp_path):
    _, message = load_error(tmp_path, models=[BASE, {**OPENAI, "params": {"temperature": 0.2, "top_k": 3}}])
    assert "models[1].params.temperature: 'temperature' is a field of the model entry" in message
    assert "models[1].params.top_k: backend 'openai' takes no params" in message


def test_accepted_params_load_unchanged(tmp_path):
    params = {"channels": 4, "epochs": 2, "lr": 0.01, "batch_size": 8, "weight_decay": 0}
    config = load_config(write_config(tmp_path, models=[{**BASE, "params": params}]))
    assert config.models[0].params == params


@pytest.mark.parametrize("name", registry.names("caption"))
def test_every_caption_backend_declares_its_params_and_their_defaults_are_valid(name):
    declared = registry.BACKENDS[name].params
    declared.model_validate({})
    assert declared.model_config.get("extra") == "forbid"


# --- paths -------------------------------------------------------------------------------


def test_a_missing_scenario_names_the_config_file_and_the_field(tmp_path):
    path, message = load_error(tmp_path, scenario="scenarios/absent.yaml")
    assert str(path) in message
    assert f"scenario: file not found: {tmp_path / 'scenarios' / 'absent.yaml'}" in message


def test_a_scenario_that_does_not_load_names_the_config_file_too(tmp_path):
    path = write_config(tmp_path)
    (tmp_path / "atropia.yaml").write_text("title: [\n", encoding="utf-8")
    with pytest.raises(WorkbenchConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "`scenario`" in str(info.value)
    assert "not valid YAML" in str(info.value)


def test_a_folder_where_a_file_belongs_and_a_file_where_a_folder_belongs(tmp_path):
    (tmp_path / "data").write_text("not a folder", encoding="utf-8")
    (tmp_path / "landing").write_text("not a folder", encoding="utf-8")
    (tmp_path / "store").write_text("not a folder", encoding="utf-8")
    (tmp_path / "wh.duckdb").mkdir()
    path, message = load_error(
        tmp_path, data_dir="data", landing_dir="landing", image_store="store", warehouse="wh.duckdb"
    )
    assert str(path) in message
    for field, name in (("data_dir", "data"), ("landing_dir", "landing"), ("image_store", "store")):
        assert f"{field}: {tmp_path / name} is a file, expected a folder" in message
    assert f"warehouse: {tmp_path / 'wh.duckdb'} is a folder" in message


def test_missing_local_model_folders_name_their_fields(tmp_path):
    local = {"id": "vlm", "backend": "transformers", "model": str(tmp_path / "no-such-vlm")}
    path, message = load_error(tmp_path, models=[BASE, local], embedder={"model": "./no-such-embedder"})
    assert str(path) in message
    assert f"models[1].model: local model folder not found: {tmp_path / 'no-such-vlm'}" in message
    assert "embedder.model: local model folder not found: no-such-embedder" in message


def test_hub_ids_and_absent_folders_the_pipeline_makes_still_load(tmp_path):
    vlm = {"id": "vlm", "backend": "transformers", "model": "Qwen/Qwen2-VL-2B-Instruct"}
    config = load_config(write_config(tmp_path, models=[BASE, vlm], image_store="images"))
    assert not config.data_dir.exists() and not config.landing_dir.exists()
    assert config.image_store_uri == str(tmp_path / "images")  # relative to the YAML, like the other paths


def test_an_unknown_packaged_embedder_fails_the_load(tmp_path):
    path, message = load_error(tmp_path, embedder={"model": "packaged:all-MiniLM-L12"})
    assert str(path) in message
    assert "embedder.model: unknown packaged embedder 'packaged:all-MiniLM-L12'" in message
    assert "packaged:all-MiniLM-L6-v2" in message
