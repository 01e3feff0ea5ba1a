"""A threaded HTTP server on 127.0.0.1 with a fault queue, a per-call delay and a call counter.

Faults are consumed one per request, in order; each is a dict such as
``{"status": 429, "retry_after": 1}``, ``{"status": 500}``, ``{"sleep": 3.0}`` (answer later than
the client's timeout), ``{"malformed": True}`` (a body that is not JSON), ``{"content": "..."}``
(the model's text), ``{"extra_labels": ["not_a_label"]}``, or ``{"echo_key": "error"}`` /
``{"echo_key": "answer"}`` (the key the client sent, quoted back in an error body or in the caption,
the way careless servers and models do).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeState:
    def __init__(self, labels: list[str] | None = None, api_key: str = "test-key"):
        self.labels = list(labels or [])
        self.api_key = api_key
        self.faults: deque = deque()
        self.delay_s = 0.0
        self.extra_labels: list[str] = []
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.paths: list[str] = []
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.calls = 0
            self.max_in_flight = 0
            self.paths.clear()
            self.bodies.clear()
            self.faults.clear()

    def next_fault(self) -> dict:
        with self.lock:
            return self.faults.popleft() if self.faults else {}


def pick_labels(seed: bytes, allowed: list[str], k: int = 2) -> list[str]:
    """A deterministic answer per image: the same image always gets the same labels."""
    ranked = sorted(allowed, key=lambda label: hashlib.sha256(seed + label.encode()).hexdigest())
    return ranked[:k]


def fake_summary(prompt: str) -> str:
    """A community summary built from the facts the prompt gave, so a test can tell the card reached the model."""
    import re

    size = re.search(r"Images in the community: (\d+)", prompt)
    labels = re.search(r"Most common labels: (.*)", prompt)
    return (
        f"These {size.group(1) if size else '?'} images tell one story, "
        f"told through {labels.group(1) if labels else 'nothing'}."
    )


@dataclass(frozen=True)
class FakeContract:
    """How tests/backends/test_api_contract.py aims the registered backend of the same name
    (tests/fakes/<name>_server.py) at this server, and what this provider answers that others don't."""

    serve: Callable[[FakeState], FakeServer]
    state: type[FakeState] = FakeState
    base_path: str = ""  # appended to the server's root URL to give the client's base_url
    wrong_key_status: int = 401  # the HTTP status this provider answers a bad key with
    structured_mode: str = "text"  # RawAnswer.mode of an answer that came in the structure asked for


def contract_for(name: str) -> FakeContract:
    """The CONTRACT of tests/fakes/<name>_server.py, which every registered API backend must have."""
    import importlib

    import pytest

    try:
        return importlib.import_module(f"tests.fakes.{name}_server").CONTRACT
    except (ModuleNotFoundError, AttributeError):
        pytest.fail(f"API backend {name!r} has no fake server: write tests/fakes/{name}_server.py with a CONTRACT")


def server_fixture(name: str, labels: list[str] | None = None, api_key: str = "test-key"):
    """A `server` fixture for a test module (`server = server_fixture("openai", IDS)`): the fake of
    tests/fakes/<name>_server.py with a fresh state, running for one test."""
    import pytest

    @pytest.fixture(name="server")
    def running_fake():
        contract = contract_for(name)
        with contract.serve(contract.state(labels, api_key=api_key)) as server:
            yield server

    return running_fake


class FakeServer:
    """Start with `with FakeServer(Handler, state) as server:`; `server.url` is the root URL."""

    def __init__(self, handler_cls, state: FakeState):
        self.state = state
        handler = type("BoundHandler", (handler_cls,), {"state": state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class JsonHandler(BaseHTTPRequestHandler):
    state: FakeState
    protocol_version = "HTTP/1.1"
    key_header = "Authorization"  # where this provider's client sends the key

    def sent_key(self) -> str:
        value = self.headers.get(self.key_header) or ""
        return value.removeprefix("Bearer ")

    def log_message(self, *args) -> None:  # quiet tests
        pass

    def read_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return {}

    def send_body(
        self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): that is the point of a slow fault

    def send_json(self, status: int, obj, headers: dict | None = None) -> None:
        self.send_body(status, json.dumps(obj).encode(), headers=headers)

    def begin_call(self, body: dict) -> dict:
        """Counts the call, applies the per-call delay and returns this call's fault."""
        with self.state.lock:
            self.state.calls += 1
            self.state.paths.append(self.path)
            self.state.bodies.append(body)
            self.state.in_flight += 1
            self.state.max_in_flight = max(self.state.max_in_flight, self.state.in_flight)
        fault = self.state.next_fault()
        try:
            if self.state.delay_s:
                time.sleep(self.state.delay_s)
            if fault.get("sleep"):
                time.sleep(fault["sleep"])
        finally:
            with self.state.lock:
                self.state.in_flight -= 1
        return fault
