"""The Gemini backend through the real `google-genai` client against a local fake server that
speaks the Gemini REST protocol (`/v1beta/models/{model}:generateContent`)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.fakes.common import server_fixture
from tests.helpers import IDS, NAMES, png
from workbench_dagster.backends.base import BackendUnavailable, CaptionRequest
from workbench_dagster.backends.gemini import GeminiBackend, GeminiImageBackend
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.parsing import parse_answer

SECRET = "AIza-test-secret-123"


server = server_fixture("gemini", IDS, SECRET)


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


def test_comments_ask_for_a_response_schema(server):
    backend(server).comment("Write comments")
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
