"""Synthetic comments from an API model (comments.backend: gemini | openai).

The template grammar is the offline default; a model writes livelier, less regular comments.
Each image's comments are one call, cached like every call (a second run pays nothing). A call
that still fails after the retry policy, or an answer with no usable comment, is returned as a
failure with its reason (the asset logs it and shows it in metadata) and is not cached, so the
next run asks again.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

from workbench_dagster.backends.base import BackendError, BackendUnavailable
from workbench_dagster.cache import CallCache, cache_key
from workbench_dagster.calls import RetryPolicy, call_with_retry

PROMPT_VERSION = "comments-prompt-v1"
_HASHTAG = re.compile(r"#[\w\u00C0-\u024F]+")


def comment_backend_from_config(comments_config):
    """The comment backend; BackendUnavailable names the env var to set when the key is missing."""
    api_key = os.environ.get(comments_config.key_env, "").strip()
    if not api_key:
        raise BackendUnavailable(f"comments (backend {comments_config.backend}, model {comments_config.model!r}) needs "
                                 f"an API key: set the environment variable {comments_config.key_env} (or put it in .env)")
    common = {"model_id": f"comments-{comments_config.model}", "model": comments_config.model, "api_key": api_key,
              "base_url": comments_config.base_url, "timeout_s": comments_config.timeout_s,
              "temperature": comments_config.temperature, "max_output_tokens": comments_config.max_output_tokens}
    if comments_config.backend == "gemini":
        from workbench_dagster.backends.gemini import GeminiBackend

        return GeminiBackend(**common)
    from workbench_dagster.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(**common, response_mode="json_object")


def render_comment_prompt(scenario, image_prompt: str, n: int, languages: dict[str, float]) -> str:
    mix = ", ".join(f"{lang} ({weight:.0%})" for lang, weight in languages.items() if weight > 0)
    return (
        f"Write {n} short social-media comments that people in {scenario.country} might post under this image "
        f"of the movement \"{scenario.movement.name}\".\nImage: {image_prompt}\n"
        f"Languages, in about these shares: {mix}. Use hashtags such as {', '.join(scenario.movement.hashtags[:3])} "
        "and emojis where natural.\n"
        'Answer with JSON only: {"comments": [{"lang": "<language code>", "text": "<comment>"}, ...]}'
    )


def parse_comments(text: str, languages: list[str]) -> tuple[list[dict], str | None]:
    """(comments as {lang, text}, error). Near-JSON is repaired; comments in other languages are dropped."""
    import json_repair

    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        try:
            obj = json_repair.loads(text or "")
        except Exception as exc:
            return [], f"not JSON: {exc}"
    items = obj.get("comments") if isinstance(obj, dict) else obj if isinstance(obj, list) else None
    if not isinstance(items, list):
        return [], "answer has no `comments` list"
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("lang") in languages and item["text"].strip():
            out.append({"lang": item["lang"], "text": item["text"].strip()})
    if not out:
        return [], f"no usable comment (each needs text and a lang in {languages})"
    return out, None


def _row(image_id: str, batch: str, i: int, comment: dict) -> dict:
    import emoji

    text = comment["text"]
    return {"comment_id": f"{image_id}-c{i}", "image_id": image_id, "batch": batch, "lang": comment["lang"],
            "text": text, "hashtags": _HASHTAG.findall(text), "emojis": [e["emoji"] for e in emoji.emoji_list(text)]}


def generate_api_comments(
    *, scenario, prompt_rows: list[dict], comments_config, cache: CallCache, make_backend=None,
    retry: RetryPolicy = RetryPolicy(),
) -> tuple[list[dict], list[tuple[str, str]], int]:
    """Returns (comment rows in image order, [(image_id, reason)] failures, images called).
    The backend is built only at the first cache miss, so a cached batch needs no key."""
    n = comments_config.per_image
    languages = [lang for lang, weight in scenario.comments.languages.items() if weight > 0]
    decoding = {"temperature": comments_config.temperature, "max_output_tokens": comments_config.max_output_tokens,
                "n": n}
    results: dict[str, list[dict]] = {}
    failures: dict[str, str] = {}
    to_call = []
    for row in prompt_rows:
        if n <= 0:
            continue
        prompt = render_comment_prompt(scenario, row["prompt"], n, scenario.comments.languages)
        key = cache_key(backend=f"comments-{comments_config.backend}", model_id=comments_config.model,
                        prompt_version=PROMPT_VERSION, rendered_prompt=prompt, image_sha256="",
                        decoding=decoding, schema_version="comments-v1")
        cached = cache.get(key)
        if cached is not None:
            results[row["image_id"]] = cached["comments"]
        else:
            to_call.append((row, prompt, key))

    if to_call:
        # BackendUnavailable (no key) stops here, before any thread starts
        backend = (make_backend or comment_backend_from_config)(comments_config)

        def one(row: dict, prompt: str, key: str) -> None:
            try:
                answer, _ = call_with_retry(lambda: backend.comment(prompt, languages), retry)
            except BackendError as exc:
                failures[row["image_id"]] = exc.reason
                return
            comments, error = parse_comments(answer.text, languages)
            if error:
                failures[row["image_id"]] = error
                return
            comments = comments[:n]
            cache.put(key, {"comments": comments, "parse_status": "ok"})
            results[row["image_id"]] = comments

        with ThreadPoolExecutor(max_workers=comments_config.concurrency) as executor:
            for future in [executor.submit(one, *item) for item in to_call]:
                future.result()
    rows = []
    for row in prompt_rows:
        for i, comment in enumerate(results.get(row["image_id"], [])):
            rows.append(_row(row["image_id"], row["batch"], i, comment))
    return rows, sorted(failures.items()), len(to_call)
