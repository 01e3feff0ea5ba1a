"""What every API backend in the registry promises, checked through its real client library
against its local fake server (tests/fakes/<name>_server.py): error mapping and retryability,
keys never echoed or stored, labels outside the taxonomy dropped, answers cached once.

A new API backend is picked up here by its registry entry; its fake server says only what
differs per provider (its `CONTRACT`). Provider-specific request shapes stay in the
backend's own test file.
"""

from __future__ import annotations

import json

import pytest

from tests.fakes.common import contract_for
from tests.helpers import IDS, NAMES, images, png
from workbench_dagster.backends import make_backend, make_text_backend, registry
from workbench_dagster.backends.base import BackendError, BackendUnavailable, CaptionRequest
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy, caption_with_backend
from workbench_dagster.captioning.parsing import parse_answer
from workbench_dagster.scenario.config import CommentsConfig, ModelConfig

SECRET = "contract-secret-0123456789"
KEY_ENV = "WB_CONTRACT_API_KEY"
CAPTION_BACKENDS = registry.api_backends("caption")
TEXT_BACKENDS = registry.api_backends("text")


class Fake:
    """A running fake server and the way to build a registered backend that talks to it."""

    def __init__(self, name: str, server, contract):
        self.name, self.server, self.contract, self.state = name, server, contract, server.state

    @property
    def base_url(self) -> str:
        return self.server.url + self.contract.base_path

    def model_config(self, **overrides) -> ModelConfig:
        options = {
            "id": f"contract-{self.name}",
            "backend": self.name,
            "model": "fake-model",
            "base_url": self.base_url,
            "api_key_env": KEY_ENV,
            "timeout_s": 2.0,
            **overrides,
        }
        return ModelConfig(**options)

    def caption_backend(self, **overrides):
        return make_backend(self.model_config(**overrides))


@pytest.fixture
def fake(request, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    contract = contract_for(request.param)
    with contract.serve(contract.state(IDS, api_key=SECRET)) as server:
        yield Fake(request.param, server, contract)


def caption_request(i: int = 0) -> CaptionRequest:
    return CaptionRequest(f"img-{i}", "b001", "sha", png(i), "image/png")


every_caption_backend = pytest.mark.parametrize("fake", CAPTION_BACKENDS, indirect=True)
every_text_backend = pytest.mark.parametrize("fake", TEXT_BACKENDS, indirect=True)


def test_the_registry_lists_the_api_backends_that_have_fakes():
    assert set(CAPTION_BACKENDS) >= {"gemini", "openai"} and set(TEXT_BACKENDS) >= {"gemini", "openai"}


@every_caption_backend
def test_an_answer_in_the_structure_asked_for_parses(fake):
    answer = fake.caption_backend().caption(caption_request(2), "label this", IDS)
    assert answer.mode == fake.contract.structured_mode
    assert answer.input_tokens > 0 and answer.output_tokens > 0
    assert parse_answer(answer.text, IDS, NAMES).parse_status == "ok"
    assert fake.state.calls == 1


@every_caption_backend
@pytest.mark.parametrize(
    "fault,retryable,text",
    [
        ({"status": 429, "retry_after": 3}, True, "429"),
        ({"status": 500}, True, "500"),
        ({"status": 503}, True, "503"),
        ({"status": 403}, False, "403"),
        ({"status": 404}, False, "404"),
        ({"malformed": True}, True, "malformed"),
        ({"sleep": 3.0}, True, "timeout"),
    ],
    ids=["429-retry-after", "500", "503", "403", "404", "malformed", "timeout"],
)
def test_errors_map_to_backend_errors(fake, fault, retryable, text):
    fake.state.faults.append(fault)
    with pytest.raises(BackendError) as caught:
        fake.caption_backend(timeout_s=0.5).caption(caption_request(), "label this", IDS)
    assert caught.value.retryable is retryable and text in caught.value.reason
    if "retry_after" in fault:
        assert caught.value.retry_after == float(fault["retry_after"])
    assert fake.state.calls == 1  # the client never retries behind the caption loop's back


@every_caption_backend
def test_a_wrong_key_is_not_retried_and_never_echoed(fake, monkeypatch):
    wrong = "wrong-secret-999"
    monkeypatch.setenv(KEY_ENV, wrong)
    backend = fake.caption_backend()
    with pytest.raises(BackendError) as caught:
        backend.caption(caption_request(), "label this", IDS)
    assert not caught.value.retryable and str(fake.contract.wrong_key_status) in caught.value.reason
    assert wrong not in caught.value.reason and wrong not in repr(backend)
    assert fake.state.calls == 1


@every_caption_backend
def test_a_missing_key_names_the_model_and_the_default_variable(fake, monkeypatch):
    default_env = registry.BACKENDS[fake.name].key_env
    monkeypatch.delenv(default_env, raising=False)
    with pytest.raises(BackendUnavailable) as caught:
        fake.caption_backend(api_key_env=None)
    assert f"contract-{fake.name}" in str(caught.value) and default_env in str(caught.value)
    assert fake.state.calls == 0


@every_caption_backend
def test_the_key_reaches_the_client_but_is_never_stored_in_view(fake):
    backend = fake.caption_backend()
    assert SECRET not in repr(backend) and SECRET not in json.dumps(backend.cache_identity())
    assert not any(SECRET in str(v) for v in vars(backend).values() if isinstance(v, (str, dict, list)))
    assert backend.caption(caption_request(), "label this", IDS).mode == fake.contract.structured_mode


@every_caption_backend
def test_labels_outside_the_taxonomy_are_dropped_and_the_loop_pays_once(fake, tmp_path):
    fake.state.extra_labels = ["riot", "tank"]
    kwargs = dict(
        images=images(3),
        prompt="label this",
        prompt_version="t1",
        labels=IDS,
        label_names=NAMES,
        cache=CallCache(tmp_path / "calls"),
        concurrency=2,
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
    )
    rows, n_called = caption_with_backend(backend=fake.caption_backend(), **kwargs)
    assert n_called == 3
    assert all(r["n_dropped_labels"] == 2 and r["parse_status"] == "repaired" for r in rows)
    assert all(r["labels"] and set(r["labels"]) <= set(IDS) for r in rows)
    _, again = caption_with_backend(backend=fake.caption_backend(), **kwargs)
    assert again == 0 and fake.state.calls == 3


@every_text_backend
def test_text_backends_answer_comments_and_summaries_as_json(fake):
    config = CommentsConfig(backend=fake.name, model="fake-model", base_url=fake.base_url, api_key_env=KEY_ENV)
    backend = make_text_backend(config, "comments")
    assert backend.model_id == "comments-fake-model"
    assert len(json.loads(backend.comment("Write comments").text)["comments"]) == 2
    summary = backend.write_json('Answer as JSON {"summary": "..."}. Images in the community: 4', ["summary"])
    assert "These 4 images" in json.loads(summary.text)["summary"]
