"""The one caption loop for every non-baseline backend: cache, concurrency, retries, parsing, cost.

Written once so that each provider only turns (image, prompt) into text. The rules:

- an answer is paid for once: every image is looked up in the call cache first, and each
  success is cached the moment it arrives, so a run killed halfway resumes with only the
  images still missing;
- a call that still fails after the retry policy is a failure row (`parse_status="error"`)
  with its reason; an answer that does not parse is a row with `parse_status="invalid"` and
  its raw text. Neither is ever cached, so the next run asks again;
- retries (ours, not the client's) use exponential backoff with full jitter, honour a
  server's Retry-After, and are bounded in attempts and in total time;
- an answer beyond the model's `AnswerBounds` is stored truncated and `invalid`;
- every row is masked (workbench_dagster/redaction.py) before it is cached or returned, since
  a server may echo a key in an error or a model repeat one in its answer.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from workbench_dagster.backends.base import BackendError, CaptionRequest, RawAnswer
from workbench_dagster.backends.registry import model_kind
from workbench_dagster.captioning.call_cache import CallCache, cache_key
from workbench_dagster.captioning.parsing import DEFAULT_BOUNDS, AnswerBounds, parse_answer, truncate_utf8
from workbench_dagster.captioning.rows import ImageInput, failure_row
from workbench_dagster.redaction import redact, redact_value


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


@dataclass
class LoopStats:
    model_calls: int = 0  # requests sent to the backend, retries included
    images_called: int = 0  # images that missed the cache
    cache_hits: int = 0
    cost_usd_this_run: float = 0.0


@dataclass
class _CaptionRun:
    """What every call of one `caption_with_backend` shares; its workers write rows and stats
    under one lock, so results arrive in any order and are put back in input order at the end."""

    backend: object
    prompt: str
    labels: list[str]
    label_names: dict[str, str]
    cache: CallCache
    retry: RetryPolicy
    prices: Prices
    is_training_batch: bool
    sleep: Callable[[float], None]
    stats: LoopStats
    bounds: AnswerBounds = DEFAULT_BOUNDS
    rows: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=random.Random)

    def failure(self, image: ImageInput, reason: str) -> dict:
        return failure_row(image, self.backend.model_id, self.backend.backend, reason, self.is_training_batch)

    def answer_row(self, image: ImageInput, answer: RawAnswer, latency_ms: float) -> dict:
        parsed = parse_answer(answer.text, self.labels, self.label_names, self.bounds)
        input_tokens, output_tokens = int(answer.input_tokens or 0), int(answer.output_tokens or 0)
        row = {
            "image_id": image.image_id,
            "batch": image.batch,
            "model": self.backend.model_id,
            "backend": self.backend.backend,
            "model_kind": model_kind(self.backend.backend),
            "labels": parsed.labels,
            "label_scores_json": None,
            "caption": parsed.caption,
            "raw_output": _stored_raw(answer.text, self.bounds.max_raw_bytes),
            "parse_status": parsed.parse_status,
            "error": parsed.error,
            "latency_ms": latency_ms,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": self.prices.cost(input_tokens, output_tokens),
            "cache_hit": False,
            "is_training_batch": self.is_training_batch,
            "response_mode": answer.mode,
            "n_dropped_labels": parsed.n_dropped_labels,
            "flags": [],
        }
        return redact_value(row)

    def call(self, fn: Callable[[], RawAnswer]):
        """`fn` under the retry policy, each attempt counted."""

        def counted():
            with self.lock:
                self.stats.model_calls += 1
            return fn()

        answer, _ = call_with_retry(counted, self.retry, sleep=self.sleep, rng=self.rng)
        return answer

    def finish(
        self, image: ImageInput, key: str, answer: RawAnswer | None, error: str | None, latency_ms: float
    ) -> None:
        """Records one image's row; only an answer that parsed is cached."""
        if answer is None:
            row = self.failure(image, error or "unknown error")
            row["latency_ms"] = latency_ms
        else:
            row = self.answer_row(image, answer, latency_ms)
            with self.lock:
                self.stats.cost_usd_this_run += row["cost_usd"]
            if row["parse_status"] in ("ok", "repaired"):
                self.cache.put(key, {k: v for k, v in row.items() if k not in _PER_RUN_FIELDS})
        self.rows[image.image_id] = row

    def one(self, image: ImageInput, key: str) -> None:
        started = time.perf_counter()
        try:
            answer = self.call(lambda: self.backend.caption(_request(image), self.prompt, self.labels))
            self.finish(image, key, answer, None, (time.perf_counter() - started) * 1000)
        except BackendError as exc:
            self.finish(image, key, None, exc.reason, (time.perf_counter() - started) * 1000)
        except Exception as exc:  # a backend bug is still one image's failure, not the batch's
            self.finish(image, key, None, f"{type(exc).__name__}: {exc}", (time.perf_counter() - started) * 1000)

    def many(self, chunk: list[tuple[ImageInput, str]]) -> None:
        started = time.perf_counter()
        try:
            requests = [_request(image) for image, _ in chunk]
            answers = self.call(lambda: self.backend.caption_batch(requests, self.prompt, self.labels))
            per_image = (time.perf_counter() - started) * 1000 / len(chunk)
            for (image, key), answer in zip(chunk, answers):
                self.finish(image, key, answer, None, per_image)
        except Exception as exc:
            retryable = isinstance(exc, BackendError) and exc.retryable
            if len(chunk) > 1 and not retryable:
                for item in chunk:  # one bad image must not fail its neighbours: retry them alone
                    self.many([item])
                return
            reason = exc.reason if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
            for image, key in chunk:
                self.finish(image, key, None, reason, (time.perf_counter() - started) * 1000)


# not cached: they belong to this run (flags follow the current patterns and scenario languages;
# model_kind follows the registry)
_PER_RUN_FIELDS = ("image_id", "batch", "cache_hit", "is_training_batch", "flags", "model_kind")


def _stored_raw(text: str | None, max_bytes: int) -> str | None:
    """The raw answer as a row keeps it: masked, then cut to the bound. Masking looks a little past the
    bound, so a key that straddles the cut is masked whole, and never scans a 100 MB answer."""
    if text is None:
        return None
    return truncate_utf8(redact(truncate_utf8(text, max_bytes + 1024)), max_bytes)


def _request(image: ImageInput) -> CaptionRequest:
    return CaptionRequest(image.image_id, image.batch, image.sha256, image.data, _mime(image.data))


def _look_up(run: _CaptionRun, images: list[ImageInput], prompt_version: str) -> list[tuple[ImageInput, str]]:
    """Fills the rows the cache (or a missing image) answers; returns the images left to call, with their keys."""
    backend, identity = run.backend, run.backend.cache_identity()
    pending = []
    for image in images:
        if image.data is None:
            run.rows[image.image_id] = run.failure(image, image.error or "no image bytes")
            continue
        key = cache_key(
            backend=backend.backend,
            model_id=backend.model_id,
            prompt_version=prompt_version,
            rendered_prompt=run.prompt,
            image_sha256=image.sha256,
            decoding=identity,
        )
        cached = run.cache.get(key)
        if cached is not None and run.bounds.fits(cached):
            run.rows[image.image_id] = {
                **cached,
                "image_id": image.image_id,
                "batch": image.batch,
                "model_kind": model_kind(backend.backend),
                "cache_hit": True,
                "is_training_batch": run.is_training_batch,
                "flags": [],
            }
            run.stats.cache_hits += 1
            continue
        pending.append((image, key))
    return pending


def _call_pending(run: _CaptionRun, pending: list[tuple[ImageInput, str]], concurrency: int) -> None:
    backend = run.backend
    if hasattr(backend, "caption_batch"):
        size = max(1, int(getattr(backend, "batch_size", 8)))
        jobs = [(run.many, (pending[i : i + size],)) for i in range(0, len(pending), size)]
        workers = 1  # a local batched model owns the device; batches run one after another
    else:
        jobs = [(run.one, item) for item in pending]
        workers = max(1, int(concurrency))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"caption-{backend.model_id}")
    try:
        futures = {executor.submit(fn, *args) for fn, args in jobs}
        while futures:
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # only a kill (BaseException) gets here; it stops the run
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


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
    bounds: AnswerBounds = DEFAULT_BOUNDS,
) -> tuple[list[dict], int]:
    """Returns (rows in input order, number of images the backend was called for)."""
    stats = stats if stats is not None else LoopStats()
    run = _CaptionRun(
        backend, prompt, labels, label_names, cache, retry, prices, is_training_batch, sleep, stats, bounds
    )
    pending = _look_up(run, images, prompt_version)
    stats.images_called += len(pending)
    if pending:
        _call_pending(run, pending, concurrency)
    return [run.rows[image.image_id] for image in images], len(pending)


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
