"""Flags on a caption that parsed but should not be trusted as a description of the image.

A model that read "IGNORE PREVIOUS INSTRUCTIONS" off a sign, or was steered by a hostile server,
writes a well-formed answer whose words then become community keywords. Such answers are kept
(the study wants to see them) but flagged, so a warning check counts them and the networks stage
leaves them out of its keywords. A row's `flags` is a list, empty when the caption is clean:

- ``instruction_like``: the caption reads like instructions to a model rather than a description
  (the small pattern set below, English and Spanish);
- ``wrong_language``: the caption is in a language that is not one of the scenario's, detected
  among the scenario's languages and `OTHER_LANGUAGES` (a detector that only knows the scenario's
  languages would call German English). Captions of fewer than `MIN_LETTERS_FOR_LANGUAGE` letters
  are not judged: a few words do not decide a language.

A caption far from the image's other models' captions is not flagged here: a row is written by
one model's partition, which cannot see the other models' captions of the image. batch_flags.py
adds ``far_from_others`` in the batch-level `caption_flags` table, which the networks stage reads.
"""

from __future__ import annotations

import re

from workbench_dagster.captioning.call_cache import CallCache, cached_per_text

INSTRUCTION_LIKE = "instruction_like"
WRONG_LANGUAGE = "wrong_language"
CAPTION_FLAGS = (INSTRUCTION_LIKE, WRONG_LANGUAGE)
# Bump when the patterns, the languages or the word threshold change: the asset's code version names it.
FLAGS_VERSION = "caption-flags-v1"

# Each pattern names one way injected or off-task text talks to the model instead of describing.
_INSTRUCTION_PATTERNS = [
    # "ignore previous instructions", "disregard all prior rules", "forget the above prompt"
    r"\b(ignore|disregard|forget|override)\b\W+(?:\w+\W+){0,3}?(previous|prior|above|earlier|preceding|"
    r"all|your)\W+(?:\w+\W+){0,2}?(instructions?|prompts?|rules|directions|guidelines|messages?)\b",
    # Spanish: "ignora las instrucciones anteriores", "olvida todas las reglas"
    r"\b(ignora|ignore|olvida|olvide|descarta)\b\W+(?:\w+\W+){0,3}?(instrucci[oó]n(es)?|reglas|indicaciones)\b",
    r"\b(new|updated|real|actual) (system )?instructions?\b",
    r"\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak",
    r"\byou are (now an?|no longer)\b|\bfrom now on,? (you|always|only)\b",
    r"\b(label|tag|classify|mark) (everything|every (image|photo|picture)|all (images|photos|pictures))\b",
    r"\b(respond|answer|reply|output) only with\b",
    r"\b(do not|don't|never) (follow|obey)\b",
    # chat-template role markers a model should never write into a caption
    r"<\|(im_start|im_end|system|user|assistant)\|>|\[/?INST\]|<<\s*SYS\s*>>|^\s*(system|assistant|user)\s*:",
]
INSTRUCTION_PATTERN = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.I | re.M)

# Languages a caption is told apart from, besides the scenario's: the ones a model most often drifts into.
OTHER_LANGUAGES = ("ar", "de", "en", "es", "fr", "it", "ja", "pt", "ru", "zh")
MIN_LETTERS_FOR_LANGUAGE = 12  # letters, not words: Chinese and Japanese write no spaces


def instruction_like(caption: str) -> bool:
    return bool(INSTRUCTION_PATTERN.search(caption))


def _letters(text: str) -> int:
    return sum(char.isalpha() for char in text[: MIN_LETTERS_FOR_LANGUAGE * 4])


def caption_languages(
    captions: list[str], languages: tuple[str, ...], cache: CallCache | None = None
) -> tuple[list[str], int]:
    """(detected language of each caption, how many were detected rather than read from the cache)."""
    from workbench_dagster.text.preprocessing import detect_languages

    candidates = tuple(sorted(set(OTHER_LANGUAGES) | {code.lower() for code in languages}))
    recipe = f"{FLAGS_VERSION}|lang|{','.join(candidates)}"
    records, n_detected = cached_per_text(
        cache, recipe, captions, lambda texts: [{"lang": lang} for lang in detect_languages(texts, candidates)]
    )
    return [record["lang"] for record in records], n_detected


def flag_captions(
    rows: list[dict], languages: tuple[str, ...], cache: CallCache | None = None
) -> tuple[list[dict], int]:
    """The rows with `flags` set from their caption alone, and how many captions needed a detector call.

    Rows without a caption (failures) get no flags."""
    allowed = {code.lower() for code in languages}
    judged = [i for i, row in enumerate(rows) if _letters(row.get("caption") or "") >= MIN_LETTERS_FOR_LANGUAGE]
    detected, n_detected = caption_languages([rows[i]["caption"] for i in judged], languages, cache)
    language_of = dict(zip(judged, detected))
    out = []
    for i, row in enumerate(rows):
        caption = row.get("caption") or ""
        flags = []
        if caption and instruction_like(caption):
            flags.append(INSTRUCTION_LIKE)
        if language_of.get(i, "unknown") not in allowed | {"unknown"}:
            flags.append(WRONG_LANGUAGE)
        out.append({**row, "flags": flags})
    return out, n_detected


def flag_counts(flags_per_row, known: tuple[str, ...] = CAPTION_FLAGS) -> dict[str, int]:
    """How many rows carry each flag (every known flag, zero included), and how many carry any."""
    counts = dict.fromkeys(known, 0)
    flagged = 0
    for flags in flags_per_row:
        flags = list(flags) if flags is not None else []
        flagged += bool(flags)
        for flag in flags:
            counts[flag] = counts.get(flag, 0) + 1
    return {**counts, "flagged_rows": flagged}
