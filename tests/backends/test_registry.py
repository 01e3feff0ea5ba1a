"""The backend registry: every entry can be built the way the registry builds it, and names
that are built in the graph say so instead of failing somewhere deeper."""

from __future__ import annotations

import importlib

import pytest

from workbench_dagster.backends.base import BackendUnavailable
from workbench_dagster.backends.registry import BACKENDS, KINDS, make_backend, names
from workbench_dagster.scenario.config import ModelConfig


@pytest.mark.parametrize("name", [n for n, spec in BACKENDS.items() if spec.module is not None])
def test_each_registered_module_offers_a_factory_per_kind(name):
    spec = BACKENDS[name]
    module = importlib.import_module(f"workbench_dagster.backends.{spec.module}")
    assert spec.kinds and set(spec.kinds) <= set(KINDS)
    assert all(callable(getattr(module, f"{kind}_backend", None)) for kind in spec.kinds)


def test_every_kind_has_an_offline_default_and_api_backends_name_their_key():
    assert [names(kind)[0] for kind in KINDS] == ["baseline", "template", "procedural"]
    assert all(spec.key_env and spec.needs_model for spec in BACKENDS.values() if spec.is_api)
    assert not any(spec.is_api and spec.local for spec in BACKENDS.values())


def test_a_backend_built_in_the_graph_is_not_made_here():
    with pytest.raises(BackendUnavailable, match="built in the graph"):
        make_backend(ModelConfig(id="base-a", backend="baseline"))
