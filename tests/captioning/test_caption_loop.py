"""The generic caption loop, through the real OpenAI client against a local fake server:
cache (a second run pays nothing), failures never cached, resume after a kill, retries that
honour Retry-After, and the configured concurrency."""

from __future__ import annotations

import json
import time

import pytest

from tests.fakes.common import server_fixture
from tests.helpers import IDS, NAMES, caption_rows, images
from workbench_dagster.backends.openai_compat import OpenAICompatBackend
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import Prices, RetryPolicy
from workbench_dagster.captioning.parsing import AnswerBounds
from workbench_dagster.captioning.rows import CAPTION_COLUMNS, ImageInput

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, max_total_s=10)


server = server_fixture("openai", IDS)


def backend_for(server, timeout_s: float = 5.0) -> OpenAICompatBackend:
    return OpenAICompatBackend(
        model_id="fake-gpt", model="gpt-fake", base_url=server.url + "/v1", api_key="test-key", timeout_s=timeout_s
    )


def run(server, cache, imgs, backend=None, prompt="label this", **options):
    """(rows, images called, LoopStats) of one loop over `imgs`, by default through a fresh client."""
    options = {"concurrency": 4, "retry": FAST_RETRY, **options}
    backend = backend or backend_for(server)
    return caption_rows(backend, imgs, cache, IDS, NAMES, prompt=prompt, prompt_version="t1", **options)


def test_second_run_makes_zero_calls_and_rows_match(server, tmp_path):
    cache = CallCache(tmp_path / "calls")
    imgs = images(6)
    first, n_first, _ = run(server, cache, imgs)
    assert n_first == 6 and server.state.calls == 6
    assert all(set(row) == set(CAPTION_COLUMNS) for row in first)
    assert [r["parse_status"] for r in first] == ["ok"] * 6
    assert all(set(r["labels"]) <= set(IDS) and r["labels"] for r in first)
    assert [r["response_mode"] for r in first] == ["json_schema"] * 6

    second, n_second, stats = run(server, cache, imgs)
    assert n_second == 0 and server.state.calls == 6 and stats.cache_hits == 6
    assert all(r["cache_hit"] for r in second)
    strip = lambda r: {k: v for k, v in r.items() if k != "cache_hit"}
    assert [strip(r) for r in second] == [strip(r) for r in first]


def test_a_changed_prompt_or_decoding_parameter_asks_again(server, tmp_path):
    cache = CallCache(tmp_path / "calls")
    imgs = images(2)
    run(server, cache, imgs)
    run(server, cache, imgs, prompt="label this, carefully")
    assert server.state.calls == 4
    hotter = backend_for(server)
    hotter.temperature = 0.7
    run(server, cache, imgs, backend=hotter)
    assert server.state.calls == 6


def test_failures_and_invalid_answers_are_rows_and_never_cached(server, tmp_path):
    cache = CallCache(tmp_path / "calls")
    imgs = images(4) + [ImageInput("b001-broken", "b001", None, None, "not a decodable image")]
    server.state.faults.extend([{"status": 403}, {"content": "Sorry, I cannot describe people."}])
    rows, n_called, _ = run(server, cache, imgs, concurrency=1)
    assert n_called == 4
    by_id = {r["image_id"]: r for r in rows}
    assert by_id["b001-000"]["parse_status"] == "error" and "403" in by_id["b001-000"]["error"]
    assert by_id["b001-001"]["parse_status"] == "invalid"
    assert by_id["b001-001"]["raw_output"] == "Sorry, I cannot describe people."
    assert "no JSON" in by_id["b001-001"]["error"]
    assert (
        by_id["b001-broken"]["parse_status"] == "error"
        and by_id["b001-broken"]["error"] == "not a decodable image"
    )
    assert [by_id[f"b001-00{i}"]["parse_status"] for i in (2, 3)] == ["ok", "ok"]

    calls_before = server.state.calls
    again, n_again, stats = run(server, cache, imgs, concurrency=1)
    assert n_again == 2 and server.state.calls == calls_before + 2 and stats.cache_hits == 2
    assert {r["image_id"]: r["parse_status"] for r in again}["b001-000"] == "ok"


class Killed(BaseException):
    """Stands in for SIGKILL / KeyboardInterrupt halfway through a partition."""


class DiesAfter:
    def __init__(self, inner, n: int):
        self.inner, self.n, self.calls = inner, n, 0
        self.backend, self.model_id = inner.backend, inner.model_id

    def cache_identity(self):
        return self.inner.cache_identity()

    def caption(self, request, prompt, labels):
        self.calls += 1
        if self.calls > self.n:
            raise Killed()
        return self.inner.caption(request, prompt, labels)


def test_a_run_killed_halfway_resumes_with_only_the_missing_images(server, tmp_path):
    cache = CallCache(tmp_path / "calls")
    imgs = images(10)
    with pytest.raises(Killed):
        run(server, cache, imgs, backend=DiesAfter(backend_for(server), 4), concurrency=1)
    assert server.state.calls == 4
    rows, n_called, stats = run(server, cache, imgs)
    assert n_called == 6 and stats.cache_hits == 4 and server.state.calls == 10
    assert [r["cache_hit"] for r in rows] == [True] * 4 + [False] * 6


def test_retry_honours_retry_after(server, tmp_path):
    server.state.faults.append({"status": 429, "retry_after": 1})
    started = time.perf_counter()
    rows, _, stats = run(server, CallCache(tmp_path / "calls"), images(1))
    elapsed = time.perf_counter() - started
    assert rows[0]["parse_status"] == "ok"
    assert server.state.calls == 2 and stats.model_calls == 2
    assert elapsed >= 1.0  # the jittered backoff alone is at most 0.05 s


def test_5xx_and_timeouts_are_retried_and_the_client_does_not_retry_on_its_own(server, tmp_path):
    server.state.faults.extend([{"status": 500}, {"sleep": 1.5}])
    rows, _, stats = run(
        server, CallCache(tmp_path / "calls"), images(1), backend=backend_for(server, timeout_s=0.5)
    )
    assert rows[0]["parse_status"] == "ok"
    assert stats.model_calls == 3 and server.state.calls == 3


def test_a_call_that_keeps_failing_gives_up_after_the_bounded_attempts(server, tmp_path):
    server.state.faults.extend([{"status": 503}] * 3)
    cache = CallCache(tmp_path / "calls")
    rows, _, _ = run(server, cache, images(1))
    assert rows[0]["parse_status"] == "error"
    assert "503" in rows[0]["error"] and "after 3 attempts" in rows[0]["error"]
    assert server.state.calls == 3
    assert len(cache) == 0  # nothing cached


def test_the_total_retry_budget_is_bounded(server, tmp_path):
    server.state.faults.append({"status": 429, "retry_after": 30})
    started = time.perf_counter()
    rows, _, _ = run(
        server,
        CallCache(tmp_path / "calls"),
        images(1),
        retry=RetryPolicy(max_attempts=5, base_delay_s=0.01, max_total_s=2),
    )
    assert time.perf_counter() - started < 2
    assert rows[0]["parse_status"] == "error" and "budget" in rows[0]["error"]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_config_is_respected(server, tmp_path, concurrency):
    server.state.delay_s = 0.15
    run(server, CallCache(tmp_path / "calls"), images(6), concurrency=concurrency)
    assert server.state.max_in_flight == concurrency


def test_cost_comes_from_the_price_table_and_usage(server, tmp_path):
    rows, _, stats = run(server, CallCache(tmp_path / "calls"), images(2), prices=Prices(2.5, 10.0))
    for row in rows:
        assert row["input_tokens"] > 0 and row["output_tokens"] > 0
        assert row["cost_usd"] == pytest.approx((row["input_tokens"] * 2.5 + row["output_tokens"] * 10.0) / 1e6)
        assert row["latency_ms"] > 0
    assert stats.cost_usd_this_run == pytest.approx(sum(r["cost_usd"] for r in rows))


def test_an_oversized_answer_is_stored_truncated_invalid_and_asked_again(server, tmp_path):
    """Issue 13, finding 4: 200 KB of caption with 500 labels was stored, cached and `repaired`."""
    huge = json.dumps({"labels": [f"junk_{i}" for i in range(500)], "caption": "word " * 40_000})
    server.state.faults.append({"content": huge})
    cache = CallCache(tmp_path / "calls")
    rows, _, _ = run(server, cache, images(1))
    row = rows[0]
    assert row["parse_status"] == "invalid" and "max_raw_bytes" in row["error"]
    assert row["labels"] == [] and len(row["raw_output"].encode()) == 65_536
    assert len(cache) == 0  # nothing cached
    again, n_again, _ = run(server, cache, images(1))
    assert n_again == 1 and again[0]["parse_status"] == "ok"


def test_a_cached_answer_beyond_tightened_bounds_is_asked_again(server, tmp_path):
    cache = CallCache(tmp_path / "calls")
    run(server, cache, images(2))
    rows, n_called, _ = run(server, cache, images(2), bounds=AnswerBounds(max_caption_chars=5))
    assert n_called == 2 and [r["parse_status"] for r in rows] == ["invalid", "invalid"]
    assert all(len(r["caption"]) == 5 for r in rows)
