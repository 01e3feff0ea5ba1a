"""The Gemini backend through the real `google-genai` client against a local fake server that
speaks the Gemini REST protocol (`/v1beta/models/{model}:generateContent`)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.fakes.common import FakeState
from tests.fakes.gemini_server import fake_gemini_server
from tests.helpers import IDS, NAMES, images, png
from workbench_dagster.backends import make_backend
from workbench_dagster.backends.base import BackendError, BackendUnavailable, CaptionRequest
from workbench_dagster.backends.gemini import GeminiBackend, GeminiImageBackend
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy, caption_with_backend
from workbench_dagster.captioning.parsing import parse_answer
from workbench_dagster.scenario.config import ModelConfig

SECRET = "AIza-test-secret-123"


@pytest.fixture
def server():
    state = FakeState(IDS, api_key=SECRET)
    with fake_gemini_server(state) as srv:
        yield srv


def backend(server, timeout_s: float = 2.0) -> GeminiBackend:
    return GeminiBackend(
        model_id="gemini-flash",
        model="gemini-2.5-flash",
        api_key=SECRET,
        base_url=server.url,
        timeout_s=timeout_s,
        temperature=0.0,
    )


def request(i: int = 0) -> CaptionRequest:
    return CaptionRequest(f"img-{i}", "b001", "sha", png(i), "image/png")


def test_caption_sends_image_part_and_a_response_schema_with_the_taxonomy_enum(server):
    answer = backend(server).caption(request(2), "label this", IDS)
    assert server.state.paths[-1] == "/v1beta/models/gemini-2.5-flash:generateContent"
    body = server.state.bodies[-1]
    parts = body["contents"][0]["parts"]
    inline = [
        p["inlineData"] for p in parts if "inlineData" in p
    ]  # the SDK writes mime_type; REST takes both spellings
    assert [d.get("mimeType", d.get("mime_type")) for d in inline] == ["image/png"]
    assert any(p.get("text") == "label this" for p in parts)
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["labels"]["items"]["enum"] == IDS
    assert answer.mode == "response_schema" and answer.input_tokens > 0 and answer.output_tokens == 30
    assert parse_answer(answer.text, IDS, NAMES).parse_status == "ok"


@pytest.mark.parametrize(
    "fault,retryable,text",
    [
        ({"status": 429, "retry_after": 3}, True, "429"),
        ({"status": 500}, True, "500"),
        ({"status": 503}, True, "503"),
        ({"status": 403}, False, "403"),
        ({"malformed": True}, True, "malformed"),
        ({"sleep": 3.0}, True, "timeout"),
    ],
)
def test_errors_map_to_backend_errors(server, fault, retryable, text):
    server.state.faults.append(fault)
    with pytest.raises(BackendError) as caught:
        backend(server, timeout_s=0.5).caption(request(), "label this", IDS)
    assert caught.value.retryable is retryable and text in caught.value.reason
    if "retry_after" in fault:
        assert caught.value.retry_after == 3.0
    assert server.state.calls == 1  # the SDK does not retry on its own


def test_a_wrong_key_is_not_retried_and_never_echoed(server):
    b = GeminiBackend(
        model_id="g", model="gemini-2.5-flash", api_key="AIza-wrong-777", base_url=server.url, timeout_s=2
    )
    with pytest.raises(BackendError) as caught:
        b.caption(request(), "label this", IDS)
    assert not caught.value.retryable and "AIza-wrong-777" not in caught.value.reason + repr(b)


def test_labels_outside_taxonomy_are_dropped_and_the_loop_caches(server, tmp_path):
    server.state.extra_labels = ["riot"]
    cache = CallCache(tmp_path / "calls")
    kwargs = dict(
        images=images(3),
        prompt="label this",
        prompt_version="t1",
        labels=IDS,
        label_names=NAMES,
        cache=cache,
        concurrency=2,
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01),
    )
    rows, n_called = caption_with_backend(backend=backend(server), **kwargs)
    assert n_called == 3 and all(r["n_dropped_labels"] == 1 and r["parse_status"] == "repaired" for r in rows)
    assert all("riot" not in r["labels"] for r in rows)
    _, again = caption_with_backend(backend=backend(server), **kwargs)
    assert again == 0 and server.state.calls == 3


def test_comments_come_back_as_json(server):
    answer = backend(server).comment("Write comments")
    assert len(json.loads(answer.text)["comments"]) == 2
    assert "comments" in server.state.bodies[-1]["generationConfig"]["responseSchema"]["properties"]


def test_image_generation_returns_png_bytes(server):
    data = GeminiImageBackend(model="gemini-2.5-flash-image", api_key=SECRET, base_url=server.url).generate(
        "a march"
    )
    assert server.state.paths[-1] == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert server.state.bodies[-1]["generationConfig"]["responseModalities"] == ["IMAGE"]
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.size == (32, 24)


def test_imagen_is_refused_with_a_clear_message():
    with pytest.raises(BackendUnavailable, match="gemini-2.5-flash-image"):
        GeminiImageBackend(model="imagen-4.0-generate-001", api_key=SECRET)


def test_missing_key_names_the_model_and_the_env_var(monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(BackendUnavailable) as caught:
        make_backend(ModelConfig(id="gemini-flash", backend="gemini", model="gemini-2.5-flash"))
    assert "gemini-flash" in str(caught.value) and "GOOGLE_API_KEY" in str(caught.value)


def test_images_backend_gemini_makes_synthetic_images_and_caches_them(server, tmp_path, monkeypatch):
    import pandas as pd

    from tests.helpers import write_config
    from workbench_dagster.generation.images import make_images
    from workbench_dagster.scenario.config import load_config
    from workbench_dagster.storage.image_store import ImageStore

    monkeypatch.setenv("WB_TEST_GOOGLE_KEY", SECRET)
    config = load_config(
        write_config(
            tmp_path,
            images={
                "backend": "gemini",
                "model": "gemini-2.5-flash-image",
                "base_url": server.url,
                "api_key_env": "WB_TEST_GOOGLE_KEY",
            },
        )
    )
    prompts = pd.DataFrame(
        [
            {
                "image_id": f"b001-{i}",
                "batch": "b001",
                "prompt": f"a march number {i}",
                "seed": i,
                "source": "generated",
                "source_file": None,
                "spec_json": "{}",
            }
            for i in range(3)
        ]
    )
    store = ImageStore(config.image_store_uri)
    cache = CallCache(tmp_path / "cache")
    server.state.faults.append({"status": 503})  # retried by the shared policy
    df, rendered = make_images(config, prompts, store, cache)
    assert rendered == 3 and list(df["status"]) == ["ok"] * 3 and server.state.calls == 4
    _, again = make_images(config, prompts, store, cache)
    assert again == 0 and server.state.calls == 4
