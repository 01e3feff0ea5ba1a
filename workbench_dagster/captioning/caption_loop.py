"""The one caption loop for every non-baseline backend: cache, concurrency, retries, parsing, cost.

Written once so that each provider only turns (image, prompt) into text. The rules:

- an answer is paid for once: every image is looked up in the call cache first, and each
  success is cached the moment it arrives, so a run killed halfway resumes with only the
  images still missing;
- a call that still fails after the retry policy is a failure row (`parse_status="error"`)
  with its reason; an answer that does not parse is a row with `parse_status="invalid"` and
  its raw text. Neither is ever cached, so the next run asks again;
- retries (ours, not the client's) use exponential backoff with full jitter, honour a
  server's Retry-After, and are bounded in attempts and in total time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from workbench_dagster.backends.base import BackendError, CaptionRequest, RawAnswer
from workbench_dagster.captioning.call_cache import CallCache, cache_key
from workbench_dagster.captioning.parsing import parse_answer
from workbench_dagster.captioning.rows import ImageInput, failure_row


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    max_total_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**attempt)); never shorter than Retry-After."""
        backoff = rng.uniform(0, min(self.max_delay_s, self.base_delay_s * (2**attempt)))
        if retry_after is not None:
            return max(float(retry_after), backoff)
        return backoff


@dataclass(frozen=True)
class Prices:
    """USD per one million tokens."""

    input_per_million: float = 0.0
    output_per_million: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1_000_000


def call_with_retry(
    fn: Callable[[], RawAnswer],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> tuple[RawAnswer, int]:
    """(answer, attempts). Raises the last BackendError, its reason saying how many attempts."""
    rng = rng or random.Random()
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(), attempt
        except BackendError as exc:
            if not exc.retryable or attempt >= policy.max_attempts:
                raise BackendError(
                    f"{exc.reason} (after {attempt} attempt{'s' if attempt > 1 else ''})",
                    retryable=exc.retryable,
                    retry_after=exc.retry_after,
                ) from exc
            pause = policy.delay(attempt - 1, exc.retry_after, rng)
            if time.monotonic() - started + pause > policy.max_total_s:
                raise BackendError(
                    f"{exc.reason} (gave up after {attempt} attempts: retrying would pass "
                    f"the {policy.max_total_s:g} s budget)",
                    retryable=True,
                ) from exc
            sleep(pause)


def _answer_row(
    image: ImageInput,
    backend,
    answer: RawAnswer,
    latency_ms: float,
    prices: Prices,
    label_ids: list[str],
    label_names: dict[str, str],
    is_training_batch: bool,
) -> dict:
    parsed = parse_answer(answer.text, label_ids, label_names)
    return {
        "image_id": image.image_id,
        "batch": image.batch,
        "model": backend.model_id,
        "backend": backend.backend,
        "labels": parsed.labels,
        "label_scores_json": None,
        "caption": parsed.caption,
        "raw_output": answer.text,
        "parse_status": parsed.parse_status,
        "error": parsed.error,
        "latency_ms": latency_ms,
        "input_tokens": int(answer.input_tokens or 0),
        "output_tokens": int(answer.output_tokens or 0),
        "cost_usd": prices.cost(int(answer.input_tokens or 0), int(answer.output_tokens or 0)),
        "cache_hit": False,
        "is_training_batch": is_training_batch,
        "response_mode": answer.mode,
        "n_dropped_labels": parsed.n_dropped_labels,
    }


@dataclass
class LoopStats:
    model_calls: int = 0  # requests sent to the backend, retries included
    images_called: int = 0  # images that missed the cache
    cache_hits: int = 0
    cost_usd_this_run: float = 0.0


def caption_with_backend(
    *,
    backend,
    images: list[ImageInput],
    prompt: str,
    prompt_version: str,
    labels: list[str],
    label_names: dict[str, str],
    cache: CallCache,
    concurrency: int = 4,
    retry: RetryPolicy = RetryPolicy(),
    prices: Prices = Prices(),
    is_training_batch: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    stats: LoopStats | None = None,
) -> tuple[list[dict], int]:
    """Returns (rows in input order, number of images the backend was called for)."""
    stats = stats if stats is not None else LoopStats()
    identity = backend.cache_identity()
    rows: dict[str, dict] = {}
    pending: list[tuple[ImageInput, str]] = []
    for image in images:
        if image.data is None:
            rows[image.image_id] = failure_row(
                image, backend.model_id, backend.backend, image.error or "no image bytes", is_training_batch
            )
            continue
        key = cache_key(
            backend=backend.backend,
            model_id=backend.model_id,
            prompt_version=prompt_version,
            rendered_prompt=prompt,
            image_sha256=image.sha256,
            decoding=identity,
        )
        cached = cache.get(key)
        if cached is not None:
            rows[image.image_id] = {
                **cached,
                "image_id": image.image_id,
                "batch": image.batch,
                "cache_hit": True,
                "is_training_batch": is_training_batch,
            }
            stats.cache_hits += 1
            continue
        pending.append((image, key))

    lock = threading.Lock()
    rng = random.Random()

    def request_of(image: ImageInput) -> CaptionRequest:
        return CaptionRequest(image.image_id, image.batch, image.sha256, image.data, _mime(image.data))

    def counted(fn: Callable[[], RawAnswer]) -> Callable[[], RawAnswer]:
        def inner() -> RawAnswer:
            with lock:
                stats.model_calls += 1
            return fn()

        return inner

    def finish(
        image: ImageInput, key: str, answer: RawAnswer | None, error: str | None, latency_ms: float
    ) -> None:
        if answer is None:
            row = failure_row(
                image, backend.model_id, backend.backend, error or "unknown error", is_training_batch
            )
            row["latency_ms"] = latency_ms
        else:
            row = _answer_row(image, backend, answer, latency_ms, prices, labels, label_names, is_training_batch)
            with lock:
                stats.cost_usd_this_run += row["cost_usd"]
            if row["parse_status"] in ("ok", "repaired"):
                cache.put(
                    key,
                    {
                        k: v
                        for k, v in row.items()
                        if k not in ("image_id", "batch", "cache_hit", "is_training_batch")
                    },
                )
        rows[image.image_id] = row

    def one(image: ImageInput, key: str) -> None:
        started = time.perf_counter()
        try:
            answer, _ = call_with_retry(
                counted(lambda: backend.caption(request_of(image), prompt, labels)), retry, sleep=sleep, rng=rng
            )
            finish(image, key, answer, None, (time.perf_counter() - started) * 1000)
        except BackendError as exc:
            finish(image, key, None, exc.reason, (time.perf_counter() - started) * 1000)
        except Exception as exc:  # a backend bug is still one image's failure, not the batch's
            finish(image, key, None, f"{type(exc).__name__}: {exc}", (time.perf_counter() - started) * 1000)

    def many(chunk: list[tuple[ImageInput, str]]) -> None:
        started = time.perf_counter()
        try:
            answers, _ = call_with_retry(
                counted(lambda: backend.caption_batch([request_of(i) for i, _ in chunk], prompt, labels)),
                retry,
                sleep=sleep,
                rng=rng,
            )
            per_image = (time.perf_counter() - started) * 1000 / len(chunk)
            for (image, key), answer in zip(chunk, answers):
                finish(image, key, answer, None, per_image)
        except Exception as exc:
            retryable = isinstance(exc, BackendError) and exc.retryable
            if len(chunk) > 1 and not retryable:
                for item in chunk:  # one bad image must not fail its neighbours: retry them alone
                    many([item])
                return
            reason = exc.reason if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
            for image, key in chunk:
                finish(image, key, None, reason, (time.perf_counter() - started) * 1000)

    stats.images_called += len(pending)
    if pending:
        concurrency = max(1, int(concurrency))
        if hasattr(backend, "caption_batch"):
            size = max(1, int(getattr(backend, "batch_size", 8)))
            jobs = [(many, (pending[i : i + size],)) for i in range(0, len(pending), size)]
            workers = 1  # a local batched model owns the device; batches run one after another
        else:
            jobs = [(one, item) for item in pending]
            workers = concurrency
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"caption-{backend.model_id}")
        try:
            futures = {executor.submit(fn, *args) for fn, args in jobs}
            while futures:
                done, futures = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # only a kill (BaseException) gets here; it stops the run
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
    return [rows[image.image_id] for image in images], len(pending)


def _mime(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/png"


def summarize(rows: list[dict]) -> dict:
    """Metadata for the asset: parse statuses, response modes, cost and tokens."""
    statuses: dict[str, int] = {}
    modes: dict[str, int] = {}
    for row in rows:
        statuses[row["parse_status"]] = statuses.get(row["parse_status"], 0) + 1
        if row.get("response_mode"):
            modes[row["response_mode"]] = modes.get(row["response_mode"], 0) + 1
    return {
        "parse_status": statuses,
        "response_mode": modes,
        "total_cost_usd": round(sum(float(r.get("cost_usd") or 0.0) for r in rows), 6),
        "n_dropped_labels": int(sum(int(r.get("n_dropped_labels") or 0) for r in rows)),
    }
