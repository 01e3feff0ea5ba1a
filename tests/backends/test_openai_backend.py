"""The OpenAI-compatible backend through the real `openai` client against a local fake server
that speaks the chat-completions protocol: format fallback, error mapping, secrets."""

from __future__ import annotations

import base64
import json

import pytest

from tests.fakes.openai_server import OpenAIState, fake_openai_server
from tests.helpers import IDS, NAMES, png
from workbench_dagster.backends import make_backend
from workbench_dagster.backends.base import BackendError, BackendUnavailable, CaptionRequest
from workbench_dagster.backends.openai_compat import OpenAICompatBackend
from workbench_dagster.captioning.parsing import parse_answer
from workbench_dagster.scenario.config import ModelConfig

SECRET = "sk-test-0123456789abcdef"


@pytest.fixture
def server():
    state = OpenAIState(IDS, api_key=SECRET)
    with fake_openai_server(state) as srv:
        yield srv


def backend(server, **kwargs) -> OpenAICompatBackend:
    options = {
        "model_id": "verde-qwen",
        "model": "qwen-vl",
        "base_url": server.url + "/v1",
        "api_key": SECRET,
        "timeout_s": 2.0,
        **kwargs,
    }
    return OpenAICompatBackend(**options)


def request(i: int = 0) -> CaptionRequest:
    data = png(i)
    return CaptionRequest(f"img-{i}", "b001", "sha", data, "image/png")


def test_caption_sends_the_image_as_a_data_url_and_asks_for_a_json_schema_enum(server):
    answer = backend(server).caption(request(3), "label this", IDS)
    body = server.state.bodies[-1]
    parts = body["messages"][0]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == png(3)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"]["labels"]["items"]["enum"] == IDS
    assert answer.mode == "json_schema" and answer.input_tokens > 0 and answer.output_tokens == 20
    assert parse_answer(answer.text, IDS, NAMES).parse_status == "ok"


def test_falls_back_to_json_object_then_text_and_remembers(server):
    server.state.reject_json_schema = True
    server.state.reject_json_object = True
    b = backend(server)
    first = b.caption(request(0), "label this", IDS)
    assert first.mode == "text" and b.mode == "text"
    assert [body.get("response_format", {}).get("type") for body in server.state.bodies] == [
        "json_schema",
        "json_object",
        None,
    ]
    parsed = parse_answer(first.text, IDS, NAMES)
    assert parsed.parse_status == "repaired" and parsed.labels  # prose + code fence around the JSON
    b.caption(request(1), "label this", IDS)
    assert server.state.calls == 4  # no re-probing once a mode worked


def test_json_object_is_used_when_only_the_schema_is_rejected(server):
    server.state.reject_json_schema = True
    b = backend(server)
    assert b.caption(request(0), "label this", IDS).mode == "json_object"
    assert b.caption(request(1), "label this", IDS).mode == "json_object"
    assert server.state.calls == 3


def test_a_400_about_something_else_does_not_downgrade_the_format(server):
    server.state.faults.append({"status": 400})  # "injected 400": e.g. an image the server refuses
    b = backend(server)
    with pytest.raises(BackendError) as caught:
        b.caption(request(), "label this", IDS)
    assert not caught.value.retryable and "400" in caught.value.reason
    assert b.mode == "json_schema" and server.state.calls == 1


def test_429_is_retryable_with_retry_after(server):
    server.state.faults.append({"status": 429, "retry_after": 7})
    with pytest.raises(BackendError) as caught:
        backend(server).caption(request(), "label this", IDS)
    assert caught.value.retryable and caught.value.retry_after == 7.0 and "429" in caught.value.reason
    assert server.state.calls == 1  # max_retries=0: the client never retries behind our back


@pytest.mark.parametrize(
    "fault,retryable,text",
    [
        ({"status": 500}, True, "500"),
        ({"status": 503}, True, "503"),
        ({"status": 404}, False, "404"),
        ({"status": 403}, False, "403"),
        ({"malformed": True}, True, ""),
        ({"sleep": 3.0}, True, "timeout"),
    ],
)
def test_errors_map_to_backend_errors(server, fault, retryable, text):
    server.state.faults.append(fault)
    with pytest.raises(BackendError) as caught:
        backend(server, timeout_s=0.5).caption(request(), "label this", IDS)
    assert caught.value.retryable is retryable
    assert text in caught.value.reason
    assert server.state.calls == 1


def test_labels_outside_the_taxonomy_are_dropped_by_parsing(server):
    server.state.extra_labels = ["riot", "tank"]
    answer = backend(server).caption(request(), "label this", IDS)
    parsed = parse_answer(answer.text, IDS, NAMES)
    assert parsed.n_dropped_labels == 2 and set(parsed.labels) <= set(IDS) and parsed.parse_status == "repaired"


def test_a_wrong_key_is_not_retried_and_never_echoed(server):
    b = OpenAICompatBackend(
        model_id="m", model="qwen-vl", base_url=server.url + "/v1", api_key="sk-wrong-secret-999", timeout_s=2.0
    )
    with pytest.raises(BackendError) as caught:
        b.caption(request(), "label this", IDS)
    assert not caught.value.retryable and "401" in caught.value.reason
    assert "sk-wrong-secret-999" not in caught.value.reason and "sk-wrong-secret-999" not in repr(b)


def test_comments_use_chat_completions_with_json_output(server):
    server.state.faults.append({"content": json.dumps({"comments": ["¡Ni una más!", "Together #NotOneMore"]})})
    answer = backend(server).comment('Write two comments as JSON {"comments": [...]}')
    assert json.loads(answer.text)["comments"][0] == "¡Ni una más!"
    assert server.state.bodies[-1]["response_format"] == {"type": "json_object"}


def test_make_backend_reads_the_key_from_the_named_env_var(server, monkeypatch):
    config = ModelConfig(
        id="verde-qwen",
        backend="openai",
        model="qwen-vl",
        base_url=server.url + "/v1",
        api_key_env="VERDE_API_KEY",
    )
    monkeypatch.delenv("VERDE_API_KEY", raising=False)
    with pytest.raises(BackendUnavailable) as caught:
        make_backend(config)
    assert "verde-qwen" in str(caught.value) and "VERDE_API_KEY" in str(caught.value)
    monkeypatch.setenv("VERDE_API_KEY", SECRET)
    b = make_backend(config)
    assert SECRET not in repr(b) and SECRET not in json.dumps(b.cache_identity())
    assert not any(SECRET in str(v) for v in vars(b).values() if isinstance(v, (str, dict, list)))
    assert b.caption(request(), "label this", IDS).mode == "json_schema"


def test_default_key_env_per_backend():
    assert ModelConfig(id="a", backend="openai", model="gpt-4o-mini").key_env == "OPENAI_API_KEY"
    assert ModelConfig(id="b", backend="gemini", model="gemini-2.5-flash").key_env == "GOOGLE_API_KEY"
