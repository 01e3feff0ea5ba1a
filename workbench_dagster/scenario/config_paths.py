"""The paths a config names, checked at load: a missing or wrong-kind path names the config file and the field.

Folders the pipeline creates (data_dir, landing_dir, a local image store, the warehouse's folder)
may be absent; a file where a folder belongs, or a folder where a file belongs, fails the load, as
does a missing scenario file, a missing local model folder or an unknown packaged embedder.
Remote URIs are not touched.
"""

from __future__ import annotations

from pathlib import Path

from workbench_dagster.backends import registry
from workbench_dagster.errors import WorkbenchConfigError
from workbench_dagster.text.embeddings import PACKAGED_MODELS, PACKAGED_PREFIX

_EXPLICITLY_LOCAL = ("/", "./", "../", "~")  # a hub id ("org/name") is neither


def is_remote(path) -> bool:
    from workbench_dagster.scenario.config import is_remote as remote  # config.py imports this module

    return remote(path)


def check_config_paths(config) -> None:
    """Raises one WorkbenchConfigError listing every path problem of a resolved `WorkbenchConfig`."""
    problems = _scenario_problem(config.scenario)
    for field in ("data_dir", "landing_dir"):
        if not is_remote(getattr(config, field)):
            problems += _folder_problem(field, getattr(config, field))
    if not is_remote(config.image_store_uri):
        problems += _folder_problem("image_store", Path(config.image_store_uri))
    if not is_remote(config.warehouse) and config.warehouse.is_dir():
        problems.append(f"warehouse: {config.warehouse} is a folder, expected the DuckDB file to (re)build")
    for i, model in enumerate(config.models):
        if registry.BACKENDS[model.backend].local:
            problems += _local_model_problem(f"models[{i}].model", model.model)
    if registry.BACKENDS[config.images.backend].local:
        problems += _local_model_problem("images.model", config.images.model)
    problems += _embedder_problem(config.embedder.model)
    if problems:
        raise WorkbenchConfigError(
            "\n".join([f"{config.source_path}: invalid configuration", *(f"  - {p}" for p in problems)])
        )


def _scenario_problem(path: Path) -> list[str]:
    if path.is_file():
        return []
    what = "is a folder, expected the scenario YAML file" if path.is_dir() else "file not found"
    return [f"scenario: {what}: {path} (a relative path is read from the config file's folder)"]


def _folder_problem(field: str, path: Path) -> list[str]:
    if path.exists() and not path.is_dir():
        return [f"{field}: {path} is a file, expected a folder (or a path where one can be made)"]
    return []


def _embedder_problem(value: str) -> list[str]:
    if not value.startswith(PACKAGED_PREFIX):
        return _local_model_problem("embedder.model", value)
    if value.removeprefix(PACKAGED_PREFIX) in PACKAGED_MODELS:
        return []
    known = ", ".join(PACKAGED_PREFIX + m for m in PACKAGED_MODELS)
    return [f"embedder.model: unknown packaged embedder {value!r}; known: {known}"]


def _local_model_problem(field: str, value: str | None) -> list[str]:
    """Only values written as paths are checked: `org/name` may be a hub id, tried when the model loads."""
    if not value or not value.startswith(_EXPLICITLY_LOCAL):
        return []
    path = Path(value).expanduser()
    if path.exists():
        return []
    return [f"{field}: local model folder not found: {path} (relative to the working directory {Path.cwd()})"]
