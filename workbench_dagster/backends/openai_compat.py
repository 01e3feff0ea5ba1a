"""Any OpenAI-compatible chat-completions endpoint: OpenAI, vLLM, Ollama, VERDE.

Servers differ in how much structure they accept, so the backend asks for the most it can
get and steps down when a server rejects the format with a 400: `json_schema` (labels an enum
of taxonomy ids) -> `json_object` -> plain text parsed afterwards. The mode that worked is
remembered per backend instance and recorded on every row (`response_mode`).

The client's own retries are off (`max_retries=0`): the caption loop's policy (backoff with
jitter, Retry-After, a time budget) is the only one, so attempts are counted once.
"""

from __future__ import annotations

import base64
import threading

from workbench_dagster.backends.base import ApiModel, BackendError, CaptionRequest, RawAnswer, short_reason
from workbench_dagster.captioning.parsing import caption_json_schema

MODES = ("json_schema", "json_object", "text")


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        ms = headers.get("retry-after-ms")
        try:
            return float(ms) / 1000 if ms is not None else None
        except ValueError:
            return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def map_openai_error(exc: Exception) -> BackendError:
    """Rate limits, server errors, timeouts and dropped connections are worth retrying; other
    4xx (bad request, auth, not found) are not. The reason never carries the key."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return BackendError("timeout: the server did not answer within timeout_s", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"connection error: {type(exc).__name__}", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = short_reason(getattr(exc, "message", "") or str(exc))
        retry_after = _retry_after(getattr(exc.response, "headers", None))
        if status == 429:
            return BackendError(f"HTTP 429 rate limited: {message}", retryable=True, retry_after=retry_after)
        if status >= 500 or status in (408, 409):
            return BackendError(f"HTTP {status}: {message}", retryable=True, retry_after=retry_after)
        return BackendError(f"HTTP {status}: {message}", retryable=False)
    if isinstance(exc, ValueError):  # a 200 whose body is not JSON (a proxy page, a cut connection)
        return BackendError(f"malformed response: {short_reason(str(exc))}", retryable=True)
    if isinstance(exc, openai.APIResponseValidationError):
        return BackendError(f"malformed response: {short_reason(str(exc))}", retryable=True)
    return BackendError(f"{type(exc).__name__}: {short_reason(str(exc))}", retryable=False)


_FORMAT_WORDS = (
    "response_format",
    "json_schema",
    "json_object",
    "json",
    "schema",
    "format",
    "not supported",
    "unsupported",
    "structured",
)


def _about_format(exc: Exception) -> bool:
    """Whether a 400 rejects the response format (step down) rather than the request itself."""
    text = f"{getattr(exc, 'message', '')} {getattr(exc, 'body', '')}".lower()
    return any(word in text for word in _FORMAT_WORDS)


class OpenAICompatBackend(ApiModel):
    backend = "openai"

    def __init__(
        self,
        *,
        model_id: str,
        model: str,
        base_url: str | None,
        api_key: str,
        timeout_s: float = 60.0,
        temperature: float | None = 0.0,
        max_output_tokens: int = 512,
        response_mode: str | None = None,
    ):
        import openai

        self._keep_settings(model_id, model, base_url, temperature, max_output_tokens)
        self._mode_index = MODES.index(response_mode) if response_mode else 0
        self._lock = threading.Lock()
        # the key lives only inside the client; it is never an attribute of this object
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    def __repr__(self) -> str:  # never show the client (and its key)
        return f"OpenAICompatBackend(model_id={self.model_id!r}, model={self.model!r}, base_url={self.base_url!r})"

    @property
    def mode(self) -> str:
        return MODES[self._mode_index]

    def _response_format(self, mode: str, labels: list[str]) -> dict | None:
        if mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": "caption_answer", "strict": True, "schema": caption_json_schema(labels)},
            }
        if mode == "json_object":
            return {"type": "json_object"}
        return None

    def _complete(self, messages: list[dict], mode: str, labels: list[str] | None) -> RawAnswer:
        kwargs = {"model": self.model, "messages": messages, "max_tokens": self.max_output_tokens}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        response_format = (
            self._response_format(mode, labels or [])
            if labels is not None
            else ({"type": "json_object"} if mode != "text" else None)
        )
        if response_format is not None:
            kwargs["response_format"] = response_format
        completion = self._client.chat.completions.create(**kwargs)
        if not getattr(completion, "choices", None):
            raise BackendError("malformed response: no choices", retryable=True)
        text = completion.choices[0].message.content or ""
        usage = getattr(completion, "usage", None)
        return RawAnswer(
            text=text,
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            mode=mode,
        )

    def _with_fallback(self, messages: list[dict], labels: list[str] | None) -> RawAnswer:
        import openai

        while True:
            mode = self.mode
            try:
                return self._complete(messages, mode, labels)
            except openai.BadRequestError as exc:
                if mode == "text" or not _about_format(exc):
                    raise map_openai_error(exc) from None  # e.g. an image the server refuses: not a format issue
                with self._lock:  # step down once, for every thread, and remember it
                    if self.mode == mode:
                        self._mode_index += 1
            except BackendError:
                raise
            except Exception as exc:
                raise map_openai_error(exc) from None

    def caption(self, request: CaptionRequest, prompt: str, labels: list[str]) -> RawAnswer:
        url = f"data:{request.mime_type};base64,{base64.b64encode(request.image_bytes).decode()}"
        messages = [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": prompt},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ]
        return self._with_fallback(messages, labels)

    def write_json(self, prompt: str, fields: list[str]) -> RawAnswer:
        """A text-only completion asking for a JSON object; the prompt itself names the fields."""
        return self._with_fallback([{"role": "user", "content": prompt}], None)

    def comment(self, prompt: str, languages: list[str] | None = None) -> RawAnswer:
        """Synthetic comments: the prompt asks for `{"comments": [...]}`."""
        return self.write_json(prompt, ["comments"])


def _from_config(config, api_key: str, model_id: str, response_mode: str | None) -> OpenAICompatBackend:
    return OpenAICompatBackend(
        model_id=model_id,
        model=config.model,
        base_url=config.base_url,
        api_key=api_key,
        timeout_s=config.timeout_s,
        temperature=config.temperature,
        max_output_tokens=config.max_output_tokens,
        response_mode=response_mode,
    )


def caption_backend(model_config, *, api_key: str) -> OpenAICompatBackend:
    return _from_config(model_config, api_key, model_config.id, model_config.response_mode)


def text_backend(text_config, *, api_key: str, model_id: str) -> OpenAICompatBackend:
    """Comments and summaries are JSON objects whose fields the prompt names: no schema to probe for."""
    return _from_config(text_config, api_key, model_id, "json_object")
