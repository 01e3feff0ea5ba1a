"""Synthetic comments from an API model (comments.backend: gemini | openai).

The template grammar is the offline default; a model writes livelier, less regular comments.
Each image's comments are one call, cached like every call (a second run pays nothing). A call
that still fails after the retry policy, or an answer with no usable comment, is returned as a
failure with its reason (the asset logs it and shows it in metadata) and is not cached, so the
next run asks again.
"""

from __future__ import annotations

import json
import re

from workbench_dagster.backends.registry import make_text_backend
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy
from workbench_dagster.captioning.text_calls import run_text_calls, text_job

PROMPT_VERSION = "comments-prompt-v1"
SCHEMA_VERSION = "comments-v1"
_HASHTAG = re.compile(r"#[\w\u00C0-\u024F]+")


def render_comment_prompt(scenario, image_prompt: str, n: int, languages: dict[str, float]) -> str:
    mix = ", ".join(f"{lang} ({weight:.0%})" for lang, weight in languages.items() if weight > 0)
    return (
        f"Write {n} short social-media comments that people in {scenario.country} might post under this image "
        f'of the movement "{scenario.movement.name}".\nImage: {image_prompt}\n'
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
        if (
            isinstance(item, dict)
            and isinstance(item.get("text"), str)
            and item.get("lang") in languages
            and item["text"].strip()
        ):
            out.append({"lang": item["lang"], "text": item["text"].strip()})
    if not out:
        return [], f"no usable comment (each needs text and a lang in {languages})"
    return out, None


def _row(image_id: str, batch: str, i: int, comment: dict) -> dict:
    import emoji

    text = comment["text"]
    return {
        "comment_id": f"{image_id}-c{i}",
        "image_id": image_id,
        "batch": batch,
        "lang": comment["lang"],
        "text": text,
        "hashtags": _HASHTAG.findall(text),
        "emojis": [e["emoji"] for e in emoji.emoji_list(text)],
    }


def generate_api_comments(
    *,
    scenario,
    prompt_rows: list[dict],
    comments_config,
    cache: CallCache,
    retry: RetryPolicy = RetryPolicy(),
) -> tuple[list[dict], list[tuple[str, str]], int]:
    """Returns (comment rows in image order, [(image_id, reason)] failures, images called).
    The backend is built only at the first cache miss, so a cached batch needs no key."""
    n = comments_config.per_image
    languages = [lang for lang, weight in scenario.comments.languages.items() if weight > 0]
    decoding = {"n": n}
    jobs = []
    for row in prompt_rows:
        if n <= 0:
            continue
        prompt = render_comment_prompt(scenario, row["prompt"], n, scenario.comments.languages)
        jobs.append(
            text_job(
                row["image_id"], prompt, comments_config, "comments", PROMPT_VERSION, SCHEMA_VERSION, decoding
            )
        )

    def parse(text: str) -> tuple[dict | None, str | None]:
        comments, error = parse_comments(text, languages)
        return (None, error) if error else ({"comments": comments[:n], "parse_status": "ok"}, None)

    done = run_text_calls(
        jobs,
        cache=cache,
        make_backend=lambda: make_text_backend(comments_config, "comments"),
        call=lambda backend, prompt: backend.comment(prompt, languages),
        parse=parse,
        concurrency=comments_config.concurrency,
        retry=retry,
    )
    results = {image_id: payload["comments"] for image_id, payload in done.payloads.items()}
    rows = []
    for row in prompt_rows:
        for i, comment in enumerate(results.get(row["image_id"], [])):
            rows.append(_row(row["image_id"], row["batch"], i, comment))
    return rows, sorted(done.failures.items()), done.called
