"""Synthetic social-media comments from the scenario's comment grammar.

The offline `template` backend stands in for real audience reactions: each comment is
about its image (place, demand, theme, mood and slogan come from the image's spec) and
written in one of the grammar's languages, so text analysis has something real to find.
"""

from __future__ import annotations

import random

import pandas as pd

from workbench_dagster.scenario.prompts import derive_seed
from workbench_dagster.scenario.scenario_file import Scenario

# Spec fields a comment may mention, and the scenario list each one was drawn from.
SPEC_FIELDS = {"demand": "demands", "theme": "themes", "sentiment": "sentiments"}


def _translate(value: str, source: list[str], target: list[str], rng: random.Random) -> str:
    """The same position in the target language's list, since vocabularies are written parallel to the English lists.

    A value with no counterpart gets a random word of the target list, so the language stays consistent.
    """
    if not target:
        return value
    if value in source and source.index(value) < len(target):
        return target[source.index(value)]
    return rng.choice(target)


def _values(scenario: Scenario, spec: dict, lang: str, rng: random.Random) -> dict[str, str]:
    vocabulary = scenario.comments.vocabulary.get(lang, {})
    values = {"location": str(spec.get("setting", ""))}
    for key, attribute in SPEC_FIELDS.items():
        value = str(spec.get(key, ""))
        values[key] = _translate(value, getattr(scenario, attribute), vocabulary.get(key, []), rng)
    slogans = scenario.movement.slogans
    source_lang = spec.get("text_language")
    slogan = str(spec.get("slogan", ""))
    if lang != source_lang:
        slogan = _translate(slogan, slogans.get(source_lang, []), slogans.get(lang, []), rng)
    values["slogan"] = slogan
    return values


def _pick(rng: random.Random, options: dict[str, list[str]], lang: str, values: dict[str, str]) -> str:
    choices = options.get(lang) or []
    return rng.choice(choices).format(**values) if choices else ""


def generate_comments(scenario: Scenario, image_id: str, spec: dict, n: int, seed: int) -> list[dict]:
    """n comments on one image; the same inputs give the same comments."""
    grammar = scenario.comments
    languages = sorted(lang for lang, weight in grammar.languages.items() if weight > 0)
    if n > 0 and not languages:
        raise ValueError(f"scenario {scenario.id!r}: comments.languages has no language with a positive weight")
    rng = random.Random(derive_seed("comments", seed, image_id))
    hashtags_pool = list(
        dict.fromkeys([*([spec["hashtag"]] if spec.get("hashtag") else []), *scenario.movement.hashtags])
    )
    comments = []
    for i in range(n):
        lang = rng.choices(languages, weights=[grammar.languages[x] for x in languages], k=1)[0]
        values = _values(scenario, spec, lang, rng)
        opener = _pick(rng, grammar.openers, lang, values)
        body = _pick(rng, grammar.bodies, lang, values)
        closer = _pick(rng, grammar.closers, lang, values) if rng.random() < 0.75 else ""
        sentence = ": ".join(part for part in (opener, body) if part)
        sentence = sentence[:1].upper() + sentence[1:]
        if sentence and sentence[-1] not in ".!?":
            sentence += "."
        hashtags = rng.sample(hashtags_pool, k=min(len(hashtags_pool), rng.randint(1, 2)))
        emojis = rng.sample(grammar.emojis, k=min(len(grammar.emojis), rng.randint(0, 2)))
        text = " ".join(part for part in (sentence, closer, " ".join(hashtags), "".join(emojis)) if part)
        comments.append(
            {
                "comment_id": f"{image_id}-c{i}",
                "image_id": image_id,
                "lang": lang,
                "text": text,
                "hashtags": hashtags,
                "emojis": emojis,
            }
        )
    return comments


def images_to_comment(prompts: pd.DataFrame, images: pd.DataFrame) -> list[dict]:
    """Prompt rows whose image was stored. A failure row (a landing file that is not an image, a
    generation that failed) has no picture, and comments under it would reach text analysis and the
    networks as if people had reacted to one."""
    stored = set(images.loc[images["status"] == "ok", "image_id"])
    return [row for row in prompts.to_dict("records") if row["image_id"] in stored]
