"""comments.backend gemini / openai: real clients against the local fake servers; cached per
image; failures reported with their reason and asked again next run."""

from __future__ import annotations

import pytest

from tests.fakes.common import FakeState
from tests.fakes.gemini_server import fake_gemini_server
from tests.fakes.openai_server import OpenAIState, fake_openai_server
from tests.helpers import write_config
from workbench_dagster.backends.base import BackendUnavailable
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy
from workbench_dagster.generation.api_comments import generate_api_comments, parse_comments
from workbench_dagster.scenario.config import load_config

PROMPTS = [
    {"image_id": f"b001-{i}", "batch": "b001", "prompt": f"a march in Atropia City, scene {i}"} for i in range(3)
]
FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01)


@pytest.mark.parametrize("backend", ["openai", "gemini"])
def test_api_comments_are_rows_with_hashtags_emojis_and_are_cached(tmp_path, monkeypatch, backend):
    state = OpenAIState(api_key="test-key") if backend == "openai" else FakeState(api_key="test-key")
    serve = fake_openai_server if backend == "openai" else fake_gemini_server
    with serve(state) as server:
        monkeypatch.setenv("WB_TEST_COMMENT_KEY", "test-key")
        base_url = server.url + "/v1" if backend == "openai" else server.url
        config = load_config(
            write_config(
                tmp_path,
                comments={
                    "backend": backend,
                    "model": "fake-writer",
                    "per_image": 2,
                    "base_url": base_url,
                    "api_key_env": "WB_TEST_COMMENT_KEY",
                },
            )
        )
        cache = CallCache(tmp_path / "calls")
        kwargs = dict(
            scenario=config.scenario_data,
            prompt_rows=PROMPTS,
            comments_config=config.comments,
            cache=cache,
            retry=FAST,
        )
        state.faults.append({"status": 500})  # retried
        rows, failures, n_called = generate_api_comments(**kwargs)
        assert failures == [] and n_called == 3 and state.calls == 4
        assert len(rows) == 6 and {r["lang"] for r in rows} == {"es", "en"}
        assert len({r["comment_id"] for r in rows}) == 6
        assert all(r["hashtags"] and r["hashtags"][0].startswith("#") for r in rows)
        assert any(r["emojis"] for r in rows)
        again, _, n_again = generate_api_comments(**kwargs)
        assert n_again == 0 and state.calls == 4 and again == rows


def test_a_failed_image_is_reported_not_cached_and_asked_again(tmp_path, monkeypatch):
    state = OpenAIState(api_key="test-key")
    with fake_openai_server(state) as server:
        monkeypatch.setenv("WB_TEST_COMMENT_KEY", "test-key")
        config = load_config(
            write_config(
                tmp_path,
                comments={
                    "backend": "openai",
                    "model": "w",
                    "per_image": 2,
                    "base_url": server.url + "/v1",
                    "concurrency": 1,
                    "api_key_env": "WB_TEST_COMMENT_KEY",
                },
            )
        )
        kwargs = dict(
            scenario=config.scenario_data,
            prompt_rows=PROMPTS,
            comments_config=config.comments,
            cache=CallCache(tmp_path / "calls"),
            retry=FAST,
        )
        state.faults.extend([{"status": 403}, {"content": "no JSON here"}])
        rows, failures, _ = generate_api_comments(**kwargs)
        assert [i for i, _ in failures] == ["b001-0", "b001-1"]
        assert "403" in failures[0][1]
        assert "no `comments` list" in failures[1][1]
        assert {r["image_id"] for r in rows} == {"b001-2"}
        rows, failures, n_called = generate_api_comments(**kwargs)
        assert failures == [] and n_called == 2 and len(rows) == 6


def test_missing_key_names_the_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = load_config(write_config(tmp_path, comments={"backend": "openai", "model": "w"}))
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        generate_api_comments(
            scenario=config.scenario_data,
            prompt_rows=PROMPTS,
            comments_config=config.comments,
            cache=CallCache(tmp_path / "calls"),
        )


def test_parse_comments_drops_other_languages_and_repairs():
    comments, error = parse_comments(
        "```json\n{'comments': [{'lang': 'es', 'text': 'Hola'}, {'lang': 'fr', 'text': 'Salut'},]}\n```",
        ["es", "en"],
    )
    assert error is None and comments == [{"lang": "es", "text": "Hola"}]
    assert parse_comments('{"comments": []}', ["es"])[1].startswith("no usable comment")
