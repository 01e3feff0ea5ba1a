"""The loading helpers both local backends share: one load per key, even when threads race for
it; a failed load is not remembered; clear_loaded drops every backend's models."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from workbench_dagster.backends import local_models
from workbench_dagster.backends.base import BackendUnavailable


def test_threads_asking_for_the_same_model_load_it_once():
    cache = local_models.LoadedModels()
    loads = []

    def load():
        loads.append(1)
        time.sleep(0.05)  # long enough for the other threads to arrive while it loads
        return object()

    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get(("m", None), load))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(g) for g in got}) == 1
    assert cache.get(("other", None), object) is not got[0]


def test_a_failed_load_is_tried_again_and_clear_loaded_drops_every_cache():
    first, second = local_models.LoadedModels(), local_models.LoadedModels()

    def broken():
        raise BackendUnavailable("no weights")

    with pytest.raises(BackendUnavailable):
        first.get(("m",), broken)
    a, b = first.get(("m",), object), second.get(("m",), object)
    local_models.clear_loaded()
    assert first.get(("m",), object) is not a and second.get(("m",), object) is not b


def test_dtype_names_and_load_failure_message():
    assert (
        local_models.as_dtype("bfloat16") is torch.bfloat16
        and local_models.as_dtype("torch.float16") is torch.float16
    )
    assert local_models.dtype_name(torch.float32) == "float32"
    with pytest.raises(ValueError, match="not a torch dtype"):
        local_models.as_dtype("nope")
    error = local_models.load_failure(
        "diffusers", "org/model", "abc123", OSError("no file"), setting="images.model", holding="the pipeline"
    )
    assert str(error).startswith(
        "diffusers model 'org/model' (revision abc123) could not be loaded: OSError: no file."
    )
    assert "Set images.model to a local folder holding the pipeline" in str(error)
