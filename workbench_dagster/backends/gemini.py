"""Gemini through the current `google-genai` SDK (`from google import genai`).

Captions ask for `application/json` with a response schema whose labels are an enum of the
taxonomy ids, so a compliant answer cannot leave the taxonomy. Images come from Gemini image
models (`generate_content` with the IMAGE modality) or Imagen (`models.generate_images`).
The SDK's own retries stay off (no `retry_options`): the caption loop's policy is the only one.
"""

from __future__ import annotations

from workbench_dagster.backends.base import (
    ApiModel,
    BackendError,
    BackendUnavailable,
    CaptionRequest,
    RawAnswer,
    short_reason,
)


def map_gemini_error(exc: Exception) -> BackendError:
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        code = int(exc.code or 0)
        message = short_reason(exc.message or exc.status or "")
        retry_after = None
        headers = getattr(getattr(exc, "response", None), "headers", None)
        if headers is not None:
            try:
                value = headers.get("retry-after")
                retry_after = float(value) if value is not None else None
            except (TypeError, ValueError):
                retry_after = None
        if code == 429:
            return BackendError(
                f"HTTP 429 {exc.status or 'RESOURCE_EXHAUSTED'}: {message}",
                retryable=True,
                retry_after=retry_after,
            )
        if code >= 500 or code == 408:
            return BackendError(
                f"HTTP {code} {exc.status or ''}: {message}".replace("  ", " "),
                retryable=True,
                retry_after=retry_after,
            )
        return BackendError(f"HTTP {code} {exc.status or ''}: {message}".replace("  ", " "), retryable=False)
    name = type(exc).__name__
    if "Timeout" in name:
        return BackendError("timeout: the server did not answer within timeout_s", retryable=True)
    if "Connect" in name or "RemoteProtocol" in name or "ReadError" in name:
        return BackendError(f"connection error: {name}", retryable=True)
    if isinstance(exc, ValueError):  # the SDK raises this on a body that is not JSON
        return BackendError(f"malformed response: {short_reason(str(exc))}", retryable=True)
    return BackendError(f"{name}: {short_reason(str(exc))}", retryable=False)


def caption_schema(label_ids: list[str]):
    from google.genai import types

    return types.Schema(
        type=types.Type.OBJECT,
        properties={
            "labels": types.Schema(
                type=types.Type.ARRAY, items=types.Schema(type=types.Type.STRING, enum=list(label_ids))
            ),
            "caption": types.Schema(type=types.Type.STRING),
        },
        required=["labels", "caption"],
    )


def _client(api_key: str, base_url: str | None, timeout_s: float):
    from google import genai
    from google.genai import types

    # v1beta: the Gemini API version that takes response schemas and image output
    options = types.HttpOptions(api_version="v1beta", timeout=int(timeout_s * 1000), base_url=base_url or None)
    return genai.Client(api_key=api_key, http_options=options)


def _usage(response) -> tuple[int, int]:
    usage = getattr(response, "usage_metadata", None)
    if usage is None:
        return 0, 0
    return int(usage.prompt_token_count or 0), int(usage.candidates_token_count or 0)


class GeminiBackend(ApiModel):
    backend = "gemini"

    def __init__(
        self,
        *,
        model_id: str,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        temperature: float | None = None,
        max_output_tokens: int = 512,
    ):
        self._keep_settings(model_id, model, base_url, temperature, max_output_tokens)
        self._client = _client(api_key, base_url, timeout_s)  # the key lives only inside the client

    def __repr__(self) -> str:
        return f"GeminiBackend(model_id={self.model_id!r}, model={self.model!r})"

    def _generate(self, contents, schema) -> RawAnswer:
        from google.genai import types

        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=schema,
            temperature=self.temperature,
            max_output_tokens=self.max_output_tokens,
        )
        try:
            response = self._client.models.generate_content(model=self.model, contents=contents, config=config)
            text = response.text
        except BackendError:
            raise
        except Exception as exc:
            raise map_gemini_error(exc) from None
        if text is None:
            reason = "no text in the answer"
            candidates = getattr(response, "candidates", None) or []
            if candidates and getattr(candidates[0], "finish_reason", None):
                reason += f" (finish reason {candidates[0].finish_reason})"
            raise BackendError(reason, retryable=False)
        input_tokens, output_tokens = _usage(response)
        return RawAnswer(text=text, input_tokens=input_tokens, output_tokens=output_tokens, mode="response_schema")

    def caption(self, request: CaptionRequest, prompt: str, labels: list[str]) -> RawAnswer:
        from google.genai import types

        contents = [types.Part.from_bytes(data=request.image_bytes, mime_type=request.mime_type), prompt]
        return self._generate(contents, caption_schema(labels))

    def comment(self, prompt: str, languages: list[str] | None = None) -> RawAnswer:
        """Synthetic comments: text in, JSON `{"comments": [{"lang", "text"}, ...]}` out."""
        from google.genai import types

        lang = (
            types.Schema(type=types.Type.STRING, enum=list(languages))
            if languages
            else types.Schema(type=types.Type.STRING)
        )
        item = types.Schema(
            type=types.Type.OBJECT,
            properties={"lang": lang, "text": types.Schema(type=types.Type.STRING)},
            required=["lang", "text"],
        )
        schema = types.Schema(
            type=types.Type.OBJECT,
            properties={"comments": types.Schema(type=types.Type.ARRAY, items=item)},
            required=["comments"],
        )
        return self._generate(prompt, schema)

    def write_json(self, prompt: str, fields: list[str]) -> RawAnswer:
        """Text in, a JSON object of the named string fields out (e.g. a community summary)."""
        from google.genai import types

        schema = types.Schema(
            type=types.Type.OBJECT,
            required=list(fields),
            properties={name: types.Schema(type=types.Type.STRING) for name in fields},
        )
        return self._generate(prompt, schema)


class GeminiImageBackend:
    """PNG bytes from a prompt, from a Gemini image model through `generate_content` with the
    IMAGE modality. Imagen (`imagen-*`, `models.generate_images`) is refused with a clear message:
    google-genai 3.x deprecates it and supports it only in Vertex mode, not with an API key."""

    backend = "gemini"

    def __init__(self, *, model: str, api_key: str, base_url: str | None = None, timeout_s: float = 120.0):
        if model.startswith("imagen"):
            raise BackendUnavailable(
                f"images.model {model!r}: Imagen models need Vertex mode in google-genai 3.x (generate_images is "
                "deprecated and refused with an API key); use a Gemini image model such as gemini-2.5-flash-image"
            )
        self.model = model
        self._client = _client(api_key, base_url, timeout_s)

    def __repr__(self) -> str:
        return f"GeminiImageBackend(model={self.model!r})"

    def cache_identity(self) -> dict:
        return {"provider_model": self.model}

    def generate(self, prompt: str) -> bytes:
        from google.genai import types

        try:
            response = self._client.models.generate_content(
                model=self.model,
                contents=prompt,
                config=types.GenerateContentConfig(response_modalities=["IMAGE"]),
            )
            data = None
            for candidate in response.candidates or []:
                for part in (candidate.content.parts if candidate.content else None) or []:
                    if part.inline_data is not None and part.inline_data.data:
                        data = part.inline_data.data
                        break
                if data:
                    break
            if not data:
                raise BackendError("no image part in the answer", retryable=False)
        except BackendError:
            raise
        except Exception as exc:
            raise map_gemini_error(exc) from None
        return to_png(data)


def to_png(data: bytes) -> bytes:
    """Providers may answer JPEG or WebP; the image store keeps PNG."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
    except Exception as exc:
        raise BackendError(f"the answer is not a decodable image: {type(exc).__name__}", retryable=False) from None
    return buffer.getvalue()


def text_backend(config, *, api_key: str, model_id: str) -> GeminiBackend:
    return GeminiBackend(
        model_id=model_id,
        model=config.model,
        api_key=api_key,
        base_url=config.base_url,
        timeout_s=config.timeout_s,
        temperature=config.temperature,
        max_output_tokens=config.max_output_tokens,
    )


def caption_backend(model_config, *, api_key: str) -> GeminiBackend:
    """The same client answers captions and text; a caption model is known by its configured id."""
    return text_backend(model_config, api_key=api_key, model_id=model_config.id)


def image_backend(images_config, *, api_key: str) -> GeminiImageBackend:
    return GeminiImageBackend(
        model=images_config.model,
        api_key=api_key,
        base_url=images_config.base_url,
        timeout_s=images_config.timeout_s,
    )
