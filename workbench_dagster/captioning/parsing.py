"""Model output to (labels, caption), validated, so a sloppy answer is repaired or marked.

Models wrap JSON in code fences, add prose, trailing commas or single quotes, and answer with
label *names* where ids were asked for. A study that silently drops those answers, or keeps
labels outside the taxonomy, measures the parser instead of the model. So every answer ends
as exactly one of:

- ``ok``: strict JSON, every label a taxonomy id;
- ``repaired``: usable after repair (JSON fixed, names mapped to ids, or labels outside the
  taxonomy dropped; the number dropped is counted);
- ``invalid``: no usable answer; the reason says why and the raw text is kept by the caller.
  An answer beyond its `AnswerBounds` is invalid too, never repaired: a 200 KB caption or 500
  labels is a model gone off the rails, and keeping it as a success would cache it and let it
  swamp every text stage after it. So is an answer that offered labels of which none is usable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class CaptionAnswer(BaseModel):
    """The structure every caption model is asked for."""

    model_config = ConfigDict(extra="ignore")

    labels: list[str]
    caption: str

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_list(cls, value):
        if isinstance(value, str):  # "a, b" instead of ["a", "b"]
            return [part.strip() for part in re.split(r"[,;]", value) if part.strip()]
        return value

    @field_validator("caption")
    @classmethod
    def _caption_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("caption is empty")
        return value.strip()


@dataclass(frozen=True)
class AnswerBounds:
    """The most of an answer a row keeps (a model's config may set its own)."""

    max_caption_chars: int = 2000
    max_labels: int = 50
    max_raw_bytes: int = 65_536

    @classmethod
    def of(cls, model_config) -> AnswerBounds:
        return cls(model_config.max_caption_chars, model_config.max_labels, model_config.max_raw_bytes)

    def fits(self, row: dict) -> bool:
        """Whether a cached row is inside these bounds, which may be tighter than when it was cached."""
        offered = len(row.get("labels") or []) + int(row.get("n_dropped_labels") or 0)
        return (
            len(row.get("caption") or "") <= self.max_caption_chars
            and offered <= self.max_labels
            and len((row.get("raw_output") or "").encode()) <= self.max_raw_bytes
        )


DEFAULT_BOUNDS = AnswerBounds()


def truncate_utf8(text: str, max_bytes: int) -> str:
    """At most `max_bytes` of UTF-8, never cutting a character in half."""
    data = text.encode()
    return text if len(data) <= max_bytes else data[:max_bytes].decode(errors="ignore")


@dataclass(frozen=True)
class ParsedAnswer:
    labels: list[str]
    caption: str | None
    parse_status: str  # ok | repaired | invalid
    n_dropped_labels: int = 0
    error: str | None = None


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


def _candidate_text(text: str) -> str:
    """The part of the answer that should be the JSON object: inside a code fence, and from
    the first '{' to the last '}' so prose around it goes."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        return text[start : end + 1]
    return text.strip()


def load_json_lenient(text: str) -> tuple[object, bool]:
    """(object, repaired). Strict JSON first; json-repair only when that fails."""
    try:
        return json.loads(text), False
    except (json.JSONDecodeError, TypeError):
        pass
    candidate = _candidate_text(text)
    try:
        return json.loads(candidate), True
    except json.JSONDecodeError:
        pass
    import json_repair

    try:
        repaired = json_repair.loads(candidate)
    except Exception as exc:  # json-repair gives up on some inputs by raising
        raise ValueError(f"not JSON, and not repairable: {exc}") from exc
    return repaired, True


def parse_answer(
    text: str | None,
    label_ids: list[str],
    label_names: dict[str, str] | None = None,
    bounds: AnswerBounds = DEFAULT_BOUNDS,
) -> ParsedAnswer:
    """Validate a model answer against the taxonomy and the bounds. Never raises on model output."""
    if text is None or not str(text).strip():
        return ParsedAnswer([], None, "invalid", 0, "empty answer")
    text = str(text)
    size = len(text.encode())
    if size > bounds.max_raw_bytes:  # not even parsed: repairing 200 KB of JSON costs seconds
        return ParsedAnswer(
            [], None, "invalid", 0, f"answer of {size} bytes is over max_raw_bytes {bounds.max_raw_bytes}"
        )
    if "{" not in text:
        return ParsedAnswer([], None, "invalid", 0, "no JSON object in the answer")
    try:
        obj, repaired = load_json_lenient(text)
    except ValueError as exc:
        return ParsedAnswer([], None, "invalid", 0, str(exc))
    if isinstance(obj, list) and len(obj) == 1 and isinstance(obj[0], dict):
        obj, repaired = obj[0], True
    if not isinstance(obj, dict) or not obj:
        return ParsedAnswer(
            [], None, "invalid", 0, f"expected a JSON object with labels and caption, got {type(obj).__name__}"
        )
    try:
        answer = CaptionAnswer.model_validate(obj)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors())
        return ParsedAnswer([], None, "invalid", 0, f"answer does not match the schema: {problems}")
    if isinstance(obj.get("labels"), str):
        repaired = True
    over = _over_bounds(answer, bounds)
    if over:
        return ParsedAnswer([], answer.caption[: bounds.max_caption_chars], "invalid", 0, over)
    labels, dropped, renamed = _resolve_labels(answer.labels, label_ids, label_names)
    if answer.labels and not labels:
        return ParsedAnswer(
            [], answer.caption, "invalid", dropped, f"none of the {len(answer.labels)} labels is a taxonomy id"
        )
    repaired = repaired or renamed or bool(dropped)
    return ParsedAnswer(labels, answer.caption, "repaired" if repaired else "ok", dropped, None)


def _over_bounds(answer: CaptionAnswer, bounds: AnswerBounds) -> str | None:
    problems = []
    if len(answer.labels) > bounds.max_labels:
        problems.append(f"{len(answer.labels)} labels, over max_labels {bounds.max_labels}")
    if len(answer.caption) > bounds.max_caption_chars:
        problems.append(
            f"caption of {len(answer.caption)} characters, over max_caption_chars {bounds.max_caption_chars}"
        )
    return f"answer beyond its bounds: {'; '.join(problems)} (stored truncated)" if problems else None


def _resolve_labels(
    offered: list[str], label_ids: list[str], label_names: dict[str, str] | None
) -> tuple[list[str], int, bool]:
    """(taxonomy ids in order, number dropped, whether any was mapped from a name or another spelling)."""
    by_id = {label_id.lower(): label_id for label_id in label_ids}
    by_name = {name.strip().lower(): label_id for label_id, name in (label_names or {}).items()}
    labels: list[str] = []
    dropped, renamed = 0, False
    for raw in offered:
        label = str(raw).strip()
        if label in label_ids:
            resolved = label
        else:
            key = label.lower()
            resolved = by_id.get(key) or by_name.get(key) or by_id.get(re.sub(r"[\s\-]+", "_", key))
            if resolved is None:
                dropped += 1
                continue
            renamed = True
        if resolved not in labels:
            labels.append(resolved)
    return labels, dropped, renamed


def caption_json_schema(label_ids: list[str]) -> dict:
    """The JSON schema asked of servers that support structured output: labels are an enum
    array of taxonomy ids, so a compliant server cannot answer outside the taxonomy."""
    return {
        "type": "object",
        "properties": {
            "labels": {"type": "array", "items": {"type": "string", "enum": list(label_ids)}},
            "caption": {"type": "string"},
        },
        "required": ["labels", "caption"],
        "additionalProperties": False,
    }


def render_caption_prompt(label_ids: list[str], label_names: dict[str, str]) -> str:
    """The one caption prompt; its text is part of the cache key, so editing it re-asks."""
    taxonomy = "\n".join(f"- {label_id}: {label_names.get(label_id, label_id)}" for label_id in label_ids)
    return (
        "You are annotating an image for a research study on social movements.\n"
        "Choose every label that applies, using only these label ids:\n"
        f"{taxonomy}\n"
        "Then write a one- or two-sentence factual caption of what is visible.\n"
        'Answer with JSON only: {"labels": ["<label id>", ...], "caption": "<caption>"}'
    )


PROMPT_VERSION = "caption-prompt-v1"
