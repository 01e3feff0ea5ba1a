"""The contract every caption backend keeps, so caching, retries, parsing and accounting are
written once (in workbench_dagster/captioning.py) and not per provider.

A backend only turns (image, prompt) into raw model text plus usage. It never parses, never
caches and never swallows an error: it raises, and the caller records a failure row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from workbench_dagster.redaction import redact


@dataclass(frozen=True)
class CaptionRequest:
    image_id: str
    batch: str
    image_sha256: str
    image_bytes: bytes
    mime_type: str = "image/png"


@dataclass
class RawAnswer:
    """What the model said, before parsing. `mode` records how structure was asked for
    (e.g. 'json_schema', 'json_object', 'text', 'response_schema'), so a reader knows which
    fallback a server needed."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    mode: str = "text"
    extra: dict = field(default_factory=dict)


class BackendError(RuntimeError):
    """A call that failed for good (after retries); `reason` goes into the failure row.

    The reason is masked here, once for every backend, because it often quotes the server."""

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None):
        reason = redact(reason)
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


def short_reason(text: str, limit: int = 300) -> str:
    """A server's message on one line, masked before it is cut, so a cut never leaves part of a key."""
    text = " ".join(redact(str(text)).split())
    return text if len(text) <= limit else text[:limit] + "..."


class BackendUnavailable(RuntimeError):
    """The model is configured but cannot run here (no key, no GPU, missing extra): raised at
    the start of a partition with a message that says what to set."""


class ApiModel:
    """What an API backend keeps of its settings: the ones that change an answer, which are its
    cache identity. Never the key: that lives only inside the provider's client."""

    def _keep_settings(
        self, model_id: str, model: str, base_url: str | None, temperature: float | None, max_output_tokens: int
    ) -> None:
        self.model_id, self.model, self.base_url = model_id, model, base_url
        self.temperature, self.max_output_tokens = temperature, max_output_tokens

    def cache_identity(self) -> dict:
        return {
            "provider_model": self.model,
            "temperature": self.temperature,
            "max_output_tokens": self.max_output_tokens,
            "schema": "labels+caption",
        }


@runtime_checkable
class CaptionBackend(Protocol):
    backend: str  # "gemini" | "openai" | "transformers" | ...
    model_id: str  # the configured model id (partition key)

    def cache_identity(self) -> dict:
        """Everything besides prompt and image that changes an answer: provider model name,
        decoding parameters, response format. Goes into the cache key."""

    def caption(self, request: CaptionRequest, prompt: str, labels: list[str]) -> RawAnswer:
        """One call. Raises BackendError (retryable or not) on failure."""


class BatchedCaptionBackend(CaptionBackend, Protocol):
    """Local models that are faster in batches (transformers) also offer this."""

    def caption_batch(self, requests: list[CaptionRequest], prompt: str, labels: list[str]) -> list[RawAnswer]: ...
