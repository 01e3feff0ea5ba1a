"""The OpenAI-compatible backend through the real `openai` client against a local fake server
that speaks the chat-completions protocol: format fallback, error mapping, secrets."""

from __future__ import annotations

import base64
import json

import pytest

from tests.fakes.common import server_fixture
from tests.helpers import IDS, NAMES, png
from workbench_dagster.backends.base import BackendError, CaptionRequest
from workbench_dagster.backends.openai_compat import OpenAICompatBackend
from workbench_dagster.captioning.parsing import parse_answer

SECRET = "sk-test-0123456789abcdef"


server = server_fixture("openai", IDS, SECRET)


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


def test_comments_use_chat_completions_with_json_output(server):
    server.state.faults.append({"content": json.dumps({"comments": ["¡Ni una más!", "Together #NotOneMore"]})})
    answer = backend(server).comment('Write two comments as JSON {"comments": [...]}')
    assert json.loads(answer.text)["comments"][0] == "¡Ni una más!"
    assert server.state.bodies[-1]["response_format"] == {"type": "json_object"}
