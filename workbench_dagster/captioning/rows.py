"""Caption rows: one per model per image, successes and failures alike.

Every row keeps what the model said (`raw_output`) and how it parsed (`parse_status`), so a
failure is a row with its reason, never a missing image.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from workbench_dagster.backends.registry import model_kind
from workbench_dagster.captioning.call_cache import CallCache, cache_key
from workbench_dagster.redaction import redact

CAPTION_COLUMNS = [
    "image_id",
    "batch",
    "model",
    "backend",
    # baseline, api or local_vlm (backends/registry.py), from the backend: which rows come from which kind
    "model_kind",
    "labels",
    "label_scores_json",
    "caption",
    "raw_output",
    "parse_status",
    "error",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "cache_hit",
    "is_training_batch",
    "response_mode",
    "n_dropped_labels",
    # answer_flags.py: what is suspect about the caption (instruction-like, wrong language); set by
    # flag_captions from the caption alone after the rows are made, so it is never cached with them
    "flags",
]


@dataclass(frozen=True)
class ImageInput:
    image_id: str
    batch: str
    sha256: str | None
    data: bytes | None
    error: str | None = None


def failure_row(image: ImageInput, model_id: str, backend: str, reason: str, is_training_batch: bool) -> dict:
    """The reason is masked: it may quote an exception or a server that echoed a key."""
    return {
        "image_id": image.image_id,
        "batch": image.batch,
        "model": model_id,
        "backend": backend,
        "model_kind": model_kind(backend),
        "labels": [],
        "label_scores_json": None,
        "caption": None,
        "raw_output": None,
        "parse_status": "error",
        "error": redact(reason),
        "latency_ms": None,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "cache_hit": False,
        "is_training_batch": is_training_batch,
        "response_mode": None,
        "n_dropped_labels": 0,
        "flags": [],
    }


def caption_with_baseline(
    *,
    model,
    model_id: str,
    images: list[ImageInput],
    label_names: dict[str, str],
    threshold: float,
    cache: CallCache,
    is_training_batch: bool,
) -> tuple[list[dict], int]:
    """Returns (rows in input order, number of images the model actually ran on)."""
    from workbench_dagster.captioning.baseline import template_caption
    from workbench_dagster.storage.media import decode_image

    rows: dict[str, dict] = {}
    pending: list[tuple[ImageInput, str, object]] = []
    for image in images:
        if image.data is None:
            rows[image.image_id] = failure_row(
                image, model_id, "baseline", image.error or "no image bytes", is_training_batch
            )
            continue
        key = cache_key(
            backend="baseline",
            model_id=f"{model_id}@{model.fingerprint}",
            prompt_version="labels-v1",
            rendered_prompt="",
            image_sha256=image.sha256,
            decoding={"threshold": threshold},
        )
        cached = cache.get(key)
        if cached is not None:
            rows[image.image_id] = {
                **cached,
                "image_id": image.image_id,
                "batch": image.batch,
                "model_kind": "baseline",
                "cache_hit": True,
                "is_training_batch": is_training_batch,
                "response_mode": cached.get("response_mode", "scores"),
                "n_dropped_labels": cached.get("n_dropped_labels", 0),
                "flags": [],
            }
            continue
        try:
            pending.append((image, key, decode_image(image.data)))
        except ValueError as exc:
            rows[image.image_id] = failure_row(image, model_id, "baseline", str(exc), is_training_batch)

    if pending:
        started = time.perf_counter()
        probabilities = model.predict_proba([decoded for _, _, decoded in pending])
        per_image_ms = (time.perf_counter() - started) * 1000 / len(pending)
        taxonomy = list(model.taxonomy)
        answers = {}  # one put for the batch: one object-store PUT, not one per image (a SQLite commit likewise)
        for (image, key, _), probs in zip(pending, probabilities):
            scores = {label: round(float(p), 6) for label, p in zip(taxonomy, probs)}
            labels = [label for label in taxonomy if scores[label] >= threshold]
            row = {
                "image_id": image.image_id,
                "batch": image.batch,
                "model": model_id,
                "backend": "baseline",
                "model_kind": "baseline",
                "labels": labels,
                "label_scores_json": json.dumps(scores, sort_keys=True),
                "caption": template_caption(labels, label_names),
                "raw_output": json.dumps({"scores": scores}, sort_keys=True),
                "parse_status": "ok",
                "error": None,
                "latency_ms": per_image_ms,
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": 0.0,
                "cache_hit": False,
                "is_training_batch": is_training_batch,
                "response_mode": "scores",
                "n_dropped_labels": 0,
                "flags": [],
            }
            answers[key] = {k: v for k, v in row.items() if k not in ("flags", "model_kind")}
            rows[image.image_id] = row
        cache.put_many(answers)
    return [rows[image.image_id] for image in images], len(pending)
