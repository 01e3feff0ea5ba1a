"""Text preprocessing for comments and captions, fully offline.

Emojis and hashtags carry much of the meaning in protest comments, so both become words
before anything else: "💜" -> "purple heart", "#JusticiaParaEllas" -> "justicia para ellas".
Lemmas come from simplemma in the language lingua detects; all data ship with the wheels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import emoji
import simplemma

HASHTAG = re.compile(r"(?<!\w)#(\w+)")
NOT_WORD = re.compile(r"[^\w\s']")
LONE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
UNKNOWN = "unknown"
# Language detection reads this many characters: lingua's cost grows faster than the text (12 s for a
# 200 KB caption), and a thousand characters decide the language as well as the whole text does.
LANG_PREFIX_CHARS = 1000
# Part of the key preprocessed texts are cached by (text/corpus.py): bump it when the output of
# preprocess_many changes, and every text is preprocessed again.
PREPROCESS_VERSION = "preprocess-v1"


def split_hashtag(tag: str) -> str:
    """Words of a hashtag from its case and digit boundaries; an all-lowercase tag stays whole.

    No word list: "#JusticiaParaEllas" -> "justicia para ellas", "#NYCMarch2024" -> "nyc march 2024",
    "#niunamas" -> "niunamas".
    """
    body = tag.lstrip("#")
    words: list[str] = []
    current = ""
    for i, char in enumerate(body):
        prev = body[i - 1] if i else ""
        nxt = body[i + 1] if i + 1 < len(body) else ""
        boundary = char == "_" or (
            current
            and (
                (char.isupper() and (prev.islower() or prev.isdigit()))
                or (char.isupper() and prev.isupper() and nxt.islower())  # "NYCMarch": the M starts a word
                or (char.isdigit() != prev.isdigit())
            )
        )
        if boundary and current:
            words.append(current)
            current = ""
        if char != "_":
            current += char
    if current:
        words.append(current)
    return " ".join(words).lower()


def _emoji_words(text: str) -> str:
    return emoji.replace_emoji(text, replace=lambda chars, data: f" {data['en'].strip(':').replace('_', ' ')} ")


def _clean(text: str) -> str:
    text = text.replace("’", "'").lower()
    text = NOT_WORD.sub(" ", text).replace("_", " ")
    return " ".join(LONE_APOSTROPHE.sub(" ", text).split())


@lru_cache(maxsize=8)
def _detector(languages: tuple[str, ...]):
    """Built once per language set and kept: lingua loads its models lazily into this detector."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in languages]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def _languages(languages: Iterable[str]) -> tuple[str, ...]:
    key = tuple(sorted({code.lower() for code in languages}))
    if not key:
        raise ValueError("languages: give at least one ISO 639-1 code, e.g. ('en', 'es')")
    return key


def detect_languages(texts: list[str], languages: Iterable[str] = ("en", "es")) -> list[str]:
    """ISO 639-1 code per text (from its first LANG_PREFIX_CHARS), among the given languages; 'unknown'
    for empty or undetectable text."""
    key = _languages(languages)
    texts = [text[:LANG_PREFIX_CHARS] for text in texts]
    has_letters = [any(ch.isalpha() for ch in text) for text in texts]
    if len(key) == 1:  # lingua needs two candidates; with one there is nothing to decide
        return [key[0] if ok else UNKNOWN for ok in has_letters]
    detector = _detector(key)
    batch = getattr(detector, "detect_languages_in_parallel_of", None)
    found = batch(list(texts)) if batch else [detector.detect_language_of(text) for text in texts]
    return [lang.iso_code_639_1.name.lower() if lang is not None else UNKNOWN for lang in found]


def _lemmas(tokens: list[str], lang: str) -> list[str]:
    try:
        return [simplemma.lemmatize(token, lang).lower() for token in tokens]
    except ValueError:  # no simplemma dictionary for this language (or 'unknown'): keep the words
        return list(tokens)


def preprocess_many(texts: Iterable[str], languages: tuple[str, ...] = ("en", "es")) -> list[dict]:
    """preprocess() for many texts, with one parallel language-detection call for all of them."""
    texts = [text or "" for text in texts]
    hashtags = [["#" + tag for tag in HASHTAG.findall(text)] for text in texts]
    emojis = [[match["emoji"] for match in emoji.emoji_list(text)] for text in texts]
    # Detect on the words people wrote: emoji names are English and would pull every text towards it.
    # Only the prefix detection reads is cleaned for it: emoji replacement alone costs seconds on 200 KB.
    plain = [
        _clean(emoji.replace_emoji(HASHTAG.sub(" ", text[:LANG_PREFIX_CHARS]), replace=" ")) for text in texts
    ]
    tag_words = [" ".join(split_hashtag(tag) for tag in tags) for tags in hashtags]
    langs = detect_languages([p if p else t for p, t in zip(plain, tag_words)], languages)
    results = []
    for text, tags, found, lang in zip(texts, hashtags, emojis, langs):
        clean = _clean(_emoji_words(HASHTAG.sub(lambda m: f" {split_hashtag(m.group(1))} ", text)))
        tokens = clean.split()
        results.append(
            {
                "clean_text": clean,
                "lemmas": " ".join(_lemmas(tokens, lang)),
                "tokens": tokens,
                "hashtags": tags,
                "emojis": found,
                "lang": lang,
            }
        )
    return results


def preprocess(text: str, languages: tuple[str, ...] = ("en", "es")) -> dict:
    """clean_text, lemmas, tokens, hashtags, emojis and lang of one comment or caption."""
    return preprocess_many([text], languages)[0]
