"""Text-only calls to an API model (synthetic comments, community summaries), paid for once.

Every item is looked up in the call cache first; the backend is built only at the first miss,
so a fully cached run needs no key. A call that still fails after the retry policy, or an
answer that does not parse, is returned as a failure with its reason and is never cached, so
the next run asks again. So is an answer over `max_raw_bytes`, which is not even parsed.
Reasons and payloads are masked (workbench_dagster/redaction.py) before they are cached or
returned: a server may echo the key, and a model repeat one.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from workbench_dagster.backends.base import BackendError, RawAnswer
from workbench_dagster.captioning.call_cache import CallCache, cache_key
from workbench_dagster.captioning.caption_loop import RetryPolicy, call_with_retry
from workbench_dagster.captioning.parsing import DEFAULT_BOUNDS
from workbench_dagster.redaction import redact, redact_value


@dataclass(frozen=True)
class TextJob:
    item_id: str
    prompt: str
    cache_key: str


def text_job(
    item_id: str, prompt: str, settings, purpose: str, prompt_version: str, schema_version: str, decoding: dict
) -> TextJob:
    """A text call keyed like a caption call without an image: by the backend and model that
    `settings` (the comments or summaries section) names for `purpose`, the rendered prompt, both
    versions, and every decoding parameter (temperature, max_output_tokens, and `decoding`)."""
    key = cache_key(
        backend=f"{purpose}-{settings.backend}",
        model_id=settings.model,
        prompt_version=prompt_version,
        rendered_prompt=prompt,
        image_sha256="",
        decoding={
            "temperature": settings.temperature,
            "max_output_tokens": settings.max_output_tokens,
            **decoding,
        },
        schema_version=schema_version,
    )
    return TextJob(item_id, prompt, key)


@dataclass
class TextCallResult:
    payloads: dict[str, dict]  # item id -> what was (or would be) cached
    failures: dict[str, str]  # item id -> reason
    called: int  # items that missed the cache


def run_text_calls(
    jobs: list[TextJob],
    *,
    cache: CallCache,
    make_backend: Callable[[], object],
    call: Callable[[object, str], RawAnswer],
    parse: Callable[[str], tuple[dict | None, str | None]],
    concurrency: int = 4,
    retry: RetryPolicy = RetryPolicy(),
    max_raw_bytes: int = DEFAULT_BOUNDS.max_raw_bytes,
) -> TextCallResult:
    """Runs `call(backend, prompt)` for every job the cache lacks; `parse(text)` gives (payload, error)."""
    result = TextCallResult({}, {}, 0)
    misses = []
    for job in jobs:
        cached = cache.get(job.cache_key)
        if cached is not None:
            result.payloads[job.item_id] = cached
        else:
            misses.append(job)
    result.called = len(misses)
    if not misses:
        return result
    backend = make_backend()  # BackendUnavailable (no key) stops here, before any thread starts

    def one(job: TextJob) -> None:
        try:
            answer, _ = call_with_retry(lambda: call(backend, job.prompt), retry)
        except BackendError as exc:
            result.failures[job.item_id] = exc.reason
            return
        size = len(answer.text.encode())
        if size > max_raw_bytes:
            result.failures[job.item_id] = f"answer of {size} bytes is over max_raw_bytes {max_raw_bytes}"
            return
        payload, error = parse(answer.text)
        if error:
            result.failures[job.item_id] = redact(error)
            return
        payload = redact_value(payload)
        cache.put(job.cache_key, payload)
        result.payloads[job.item_id] = payload

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as executor:
        for future in [executor.submit(one, job) for job in misses]:
            future.result()
    return result
