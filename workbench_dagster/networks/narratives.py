"""Narrative summaries of communities, written by a configured text model (graph.summaries).

The template summary (graphs.summarize_communities) lists facts; a researcher reading fifty
communities wants the theme in words. The model sees only the card's facts and the captions of
the community's most central images, and is told not to go beyond them. Every community keeps
its template summary when the model is not asked (too small, too deep in the hierarchy) or
fails; a failure's reason is on the row (`summary_error`), never dropped.

A flagged caption (its row's `flags`: answer_flags.py, batch_flags.py) is not shown to the model
unless `graph.keywords_from_flagged`: "IGNORE PREVIOUS INSTRUCTIONS" read off a sign is an
instruction to the summary model too. How many were left out is counted.
"""

from __future__ import annotations

import pandas as pd

from workbench_dagster.backends.registry import make_text_backend
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.captioning.caption_loop import RetryPolicy
from workbench_dagster.captioning.parsing import load_json_lenient
from workbench_dagster.captioning.text_calls import run_text_calls, text_job

PROMPT_VERSION = "community-summary-v1"
SCHEMA_VERSION = "summary-v1"
MAX_CAPTIONS = 5
MAX_CAPTION_CHARS = 300
MAX_SUMMARY_CHARS = 1500


def _named(labels, scenario) -> str:
    return ", ".join(scenario.label_name(lab) for lab in labels) or "none"


def render_summary_prompt(scenario, card: dict, captions: list[str], language: str) -> str:
    level = "the flat Leiden partition" if card["level"] == 0 else f"level {card['level']} of the hierarchy"
    lifts = (
        ", ".join(
            f"{scenario.label_name(lab)} ({lift:.1f}x as common as in the corpus)"
            for lab, lift in zip(card["overrepresented_labels"], card["label_lift"])
        )
        or "none"
    )
    shown = (
        "\n".join(f"- {' '.join(str(c).split())[:MAX_CAPTION_CHARS]}" for c in captions[:MAX_CAPTIONS])
        or "- (none)"
    )
    return (
        f'Social scientists study images of the movement "{scenario.movement.name}" in {scenario.country}. '
        f"The model {card['model']} labelled and captioned the images, and its '{card['variant']}' similarity "
        f"network groups them into communities ({level}).\n"
        f"Write a narrative summary of community {card['community']} in {language}: two or three sentences on "
        "what its images show and what story they tell together. Use only the facts below; do not invent "
        "places, people, numbers or events.\n\n"
        f"Images in the community: {card['size']}\n"
        f"Most common labels: {_named(card['top_labels'], scenario)}\n"
        f"Labels over-represented against the corpus: {lifts}\n"
        f"Keywords of its captions and comments: {', '.join(card['keywords']) or 'none'}\n"
        f"Captions of its most central images:\n{shown}\n\n"
        'Answer with JSON only: {"summary": "<two or three sentences>"}'
    )


def parse_summary(text: str) -> tuple[dict | None, str | None]:
    """(cache payload, error): the answer must be a JSON object with a non-empty string `summary`."""
    try:
        obj, _ = load_json_lenient(text or "")
    except ValueError as exc:
        return None, str(exc)
    summary = obj.get("summary") if isinstance(obj, dict) else None
    if not isinstance(summary, str) or not summary.strip():
        return None, "answer has no non-empty `summary` string"
    return {"summary": " ".join(summary.split())[:MAX_SUMMARY_CHARS], "parse_status": "ok"}, None


def _left_out(captions: pd.DataFrame, include_flagged: bool) -> set[str]:
    """Images whose caption the prompt must not show: flagged ones, unless asked to include them."""
    if include_flagged or "flags" not in captions.columns:
        return set()
    return {i for i, f in zip(captions["image_id"], captions["flags"]) if f is not None and len(f)}


def narrate_communities(
    cards: pd.DataFrame,
    captions: pd.DataFrame,
    scenario,
    settings,
    cache: CallCache,
    retry: RetryPolicy = RetryPolicy(),
    include_flagged: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """The cards with `summary` from the text model where it was asked and answered.

    `summary_source` says who wrote each summary (the model name or 'template'); `summary_error`
    holds the reason where the model was asked and failed. A central image's flagged caption is not
    shown unless `include_flagged`. Returns (cards, counts for metadata).
    """
    out = cards.reset_index(drop=True)
    counts = {"asked": 0, "called": 0, "written_by_model": 0, "failed": 0, "flagged_captions_left_out": 0}
    if settings.backend == "template" or out.empty:
        return out, counts
    caption_of = dict(zip(captions["image_id"], captions["caption"].fillna("")))
    flagged = _left_out(captions, include_flagged)
    decoding = {"language": settings.language}
    jobs = []
    for index, card in out.iterrows():
        if card["level"] > settings.max_level or card["size"] < settings.min_size:
            continue
        central = list(card["central_images"])
        counts["flagged_captions_left_out"] += sum(i in flagged for i in central[:MAX_CAPTIONS])
        shown = [caption_of.get(i, "") for i in central if i not in flagged]
        prompt = render_summary_prompt(scenario, card, shown, settings.language)
        jobs.append(text_job(str(index), prompt, settings, "summaries", PROMPT_VERSION, SCHEMA_VERSION, decoding))
    done = run_text_calls(
        jobs,
        cache=cache,
        make_backend=lambda: make_text_backend(settings, "summaries"),
        call=lambda backend, prompt: backend.write_json(prompt, ["summary"]),
        parse=parse_summary,
        concurrency=settings.concurrency,
        retry=retry,
    )
    for item_id, payload in done.payloads.items():
        out.at[int(item_id), "summary"] = payload["summary"]
        out.at[int(item_id), "summary_source"] = settings.model
    for item_id, reason in done.failures.items():
        out.at[int(item_id), "summary_error"] = reason
    counts.update(
        asked=len(jobs), called=done.called, written_by_model=len(done.payloads), failed=len(done.failures)
    )
    return out, counts
