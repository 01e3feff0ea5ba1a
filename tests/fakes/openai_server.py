"""A fake OpenAI chat-completions server (`POST /v1/chat/completions`), real HTTP on 127.0.0.1.

Knobs beyond the common faults: `reject_json_schema` / `reject_json_object` answer 400 to that
response_format, the way servers without structured output do.
"""

from __future__ import annotations

import base64
import json
import time

from .common import FakeContract, FakeServer, FakeState, JsonHandler, fake_summary, pick_labels


class OpenAIState(FakeState):
    def __init__(self, labels=None, api_key="test-key"):
        super().__init__(labels, api_key)
        self.reject_json_schema = False
        self.reject_json_object = False


def _image_bytes(messages: list[dict]) -> bytes:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    url = part["image_url"]["url"]
                    return base64.b64decode(url.split(",", 1)[1])
    return b""


def _text(messages: list[dict]) -> str:
    return " ".join(m["content"] for m in messages if isinstance(m.get("content"), str))


class OpenAIHandler(JsonHandler):
    def do_POST(self) -> None:
        body = self.read_json()
        fault = self.begin_call(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self.send_json(
                404, {"error": {"message": f"unknown path {self.path}", "type": "invalid_request_error"}}
            )
        if fault.get("echo_key") == "error":
            message = f"Incorrect API key provided: {self.sent_key()}. You can find your API key at ..."
            return self.send_json(401, {"error": {"message": message, "type": "invalid_request_error"}})
        if self.headers.get("Authorization") != f"Bearer {self.state.api_key}":
            return self.send_json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        if "status" in fault:
            headers = {"Retry-After": fault["retry_after"]} if "retry_after" in fault else None
            return self.send_json(
                fault["status"],
                {"error": {"message": f"injected {fault['status']}", "type": "server_error"}},
                headers=headers,
            )
        if fault.get("malformed"):
            return self.send_body(200, b'{"id": "x", "choices": [ this is not json')
        response_format = body.get("response_format") or {}
        kind = response_format.get("type")
        if kind in ("json_schema", "json_object") and getattr(self.state, f"reject_{kind}"):
            message = f"response_format {kind} is not supported"
            error = {"message": message, "type": "invalid_request_error", "param": "response_format"}
            return self.send_json(400, {"error": error})
        allowed = self.state.labels
        if kind == "json_schema":
            allowed = response_format["json_schema"]["schema"]["properties"]["labels"]["items"]["enum"]
        image = _image_bytes(body.get("messages", []))
        labels = pick_labels(image, allowed) + list(fault.get("extra_labels", self.state.extra_labels))
        answer = json.dumps({"labels": labels, "caption": f"A scene with {', '.join(labels) or 'nothing'}."})
        if "content" in fault:
            content = fault["content"]
        elif fault.get("echo_key") == "answer":
            content = json.dumps({"labels": labels, "caption": f"Sent with key {self.sent_key()} in the header."})
        elif not image and '"summary"' in _text(body.get("messages", [])):  # a community summary
            content = json.dumps({"summary": fake_summary(_text(body.get("messages", [])))})
        elif not image:  # a text-only request: synthetic comments
            content = json.dumps(
                {
                    "comments": [
                        {"lang": "es", "text": "¡Vivas nos queremos! #NiUnaMás 💜"},
                        {"lang": "en", "text": "Standing with you #NotOneMore"},
                    ]
                },
                ensure_ascii=False,
            )
        elif kind is None:  # plain text: the way chatty models answer
            content = f"Sure! Here is the annotation:\n```json\n{answer}\n```\nLet me know if you need more."
        else:
            content = answer
        self.send_json(
            200,
            {
                "id": f"chatcmpl-{self.state.calls}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": 100 + len(image) // 1000,
                    "completion_tokens": 20,
                    "total_tokens": 120 + len(image) // 1000,
                },
            },
        )


def fake_openai_server(state: OpenAIState) -> FakeServer:
    return FakeServer(OpenAIHandler, state)


CONTRACT = FakeContract(
    serve=fake_openai_server,
    state=OpenAIState,
    base_path="/v1",
    wrong_key_status=401,
    structured_mode="json_schema",
)
