from pathlib import Path

import pytest

from tests.helpers import write_config
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.scenario.config import DEFAULT_CONFIG, load_config


def test_embedded_default_config_is_offline_and_valid():
    config = load_config(DEFAULT_CONFIG)
    assert config.images.backend == "procedural"
    assert config.comments.backend == "template"
    assert [m.backend for m in config.models] == ["baseline", "baseline"]
    assert config.embedder.model == "packaged:all-MiniLM-L6-v2"
    assert config.warehouse == (DEFAULT_CONFIG.parent / "data" / "warehouse.duckdb").resolve()


def test_relative_paths_resolve_against_the_yaml_file(tiny_config_path: Path):
    config = load_config(tiny_config_path)
    assert config.data_dir == (tiny_config_path.parent / "data").resolve()
    assert config.scenario_data.country == "Atropia"


@pytest.mark.parametrize(
    "overrides, field, expected",
    [
        ({"seed": "abc"}, "seed", "valid integer"),
        ({"baseline": {"train_batch": "nope"}}, "baseline.train_batch", "not one of the batches"),
        ({"models": [{"id": "a|b", "backend": "baseline"}]}, "models[0].id", "letters, digits"),
        ({"models": [{"id": "g", "backend": "gemini-9"}]}, "models[0].backend", "baseline"),
        ({"graph": {"k": 0}}, "graph.k", "greater than or equal to 1"),
        ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
    ],
)
def test_bad_config_names_file_field_and_expectation(tmp_path, overrides, field, expected):
    path = write_config(tmp_path, **overrides)
    with pytest.raises(WorkbenchConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    if "." in field or field in ("seed", "surprise"):
        assert field.split(".")[0] in message


def test_missing_file_and_broken_yaml_are_clear(tmp_path):
    with pytest.raises(WorkbenchConfigError, match="file not found"):
        load_config(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("batches: [\n", encoding="utf-8")
    with pytest.raises(WorkbenchConfigError, match="not valid YAML"):
        load_config(broken)


def test_broken_scenario_stops_the_config_load(tmp_path):
    path = write_config(tmp_path)
    scenario = tmp_path / "atropia.yaml"
    scenario.write_text(
        scenario.read_text(encoding="utf-8").replace("labels: [protest]", "labels: [riot]"), encoding="utf-8"
    )
    with pytest.raises(WorkbenchConfigError, match="unknown label 'riot'"):
        load_config(path)
