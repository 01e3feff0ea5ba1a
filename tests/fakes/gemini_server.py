"""A fake Gemini REST server, real HTTP on 127.0.0.1:
`POST /v1beta/models/{model}:generateContent` (text, JSON and IMAGE modality) and
`POST /v1beta/models/{model}:predict` (Imagen)."""

from __future__ import annotations

import base64
import io
import json

from .common import FakeContract, FakeServer, FakeState, JsonHandler, fake_summary, pick_labels

FAKE_COMMENTS = [
    {"lang": "es", "text": "¡Qué marcha! #NiUnaMás ✊"},
    {"lang": "en", "text": "Proud of everyone out there today #NotOneMore"},
]

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def tiny_png(seed: str) -> bytes:
    from PIL import Image

    shade = sum(seed.encode()) % 255
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (shade, 80, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def _b64(data: str) -> bytes:
    """The SDK sends bytes base64url-encoded; accept both alphabets, padded or not."""
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _enum(schema: dict) -> list[str] | None:
    try:
        return schema["properties"]["labels"]["items"]["enum"]
    except (KeyError, TypeError):
        return None


class GeminiHandler(JsonHandler):
    key_header = "x-goog-api-key"

    def do_POST(self) -> None:
        body = self.read_json()
        fault = self.begin_call(body)
        path = self.path.split("?", 1)[0]
        if not path.startswith("/v1beta/models/") or ":" not in path:
            return self.send_error_json(404, f"unknown path {path}")
        model, method = path[len("/v1beta/models/") :].split(":", 1)
        if fault.get("echo_key") == "error":
            return self.send_error_json(400, f"API key not valid: {self.sent_key()}. Please pass a valid API key.")
        if self.headers.get("x-goog-api-key") != self.state.api_key:
            return self.send_error_json(400, "API key not valid. Please pass a valid API key.")
        if "status" in fault:
            headers = {"Retry-After": fault["retry_after"]} if "retry_after" in fault else None
            return self.send_error_json(fault["status"], f"injected {fault['status']}", headers)
        if fault.get("malformed"):
            return self.send_body(200, b'{"candidates": [ not json')
        if method == "predict":
            prompt = (body.get("instances") or [{}])[0].get("prompt", "")
            return self.send_json(
                200,
                {
                    "predictions": [
                        {
                            "bytesBase64Encoded": base64.b64encode(tiny_png(prompt)).decode(),
                            "mimeType": "image/png",
                        }
                    ]
                },
            )
        if method != "generateContent":
            return self.send_error_json(404, f"unknown method {method}")
        config = body.get("generationConfig") or {}
        parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
        text_in = " ".join(p.get("text", "") for p in parts)
        if "IMAGE" in [m.upper() for m in config.get("responseModalities", [])]:
            out_parts = [
                {"text": "Here is your image."},
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(tiny_png(text_in)).decode()}},
            ]
            return self.send_candidate(out_parts, text_in)
        image = b"".join(_b64(p["inlineData"]["data"]) for p in parts if "inlineData" in p)
        schema = config.get("responseSchema") or config.get("responseJsonSchema") or {}
        if "content" in fault:
            text = fault["content"]
        elif fault.get("echo_key") == "answer":
            text = json.dumps(
                {"labels": pick_labels(image, _enum(schema) or self.state.labels), "caption": self.sent_key()}
            )
        elif "summary" in (schema.get("properties") or {}):
            text = json.dumps({"summary": fake_summary(text_in)})
        elif "comments" in (schema.get("properties") or {}):
            text = json.dumps({"comments": FAKE_COMMENTS}, ensure_ascii=False)
        else:
            allowed = _enum(schema) or self.state.labels
            labels = pick_labels(image, allowed) + list(fault.get("extra_labels", self.state.extra_labels))
            text = json.dumps({"labels": labels, "caption": f"A scene with {', '.join(labels) or 'nothing'}."})
        self.send_candidate([{"text": text}], text_in, image)

    def send_candidate(self, parts: list[dict], text_in: str, image: bytes = b"") -> None:
        self.send_json(
            200,
            {
                "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {
                    "promptTokenCount": 258 + len(text_in) // 4,
                    "candidatesTokenCount": 30,
                    "totalTokenCount": 288 + len(text_in) // 4,
                },
                "modelVersion": "fake",
            },
        )

    def send_error_json(self, status: int, message: str, headers: dict | None = None) -> None:
        self.send_json(
            status,
            {"error": {"code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}},
            headers=headers,
        )


def fake_gemini_server(state: FakeState) -> FakeServer:
    return FakeServer(GeminiHandler, state)


CONTRACT = FakeContract(serve=fake_gemini_server, wrong_key_status=400, structured_mode="response_schema")
