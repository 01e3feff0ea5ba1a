import pytest

from workbench_dagster.text import preprocessing
from workbench_dagster.text.preprocessing import (
    LANG_PREFIX_CHARS,
    _detector,
    detect_languages,
    preprocess,
    preprocess_many,
    split_hashtag,
)

SPANISH = "Las mujeres estaban marchando por las calles de la ciudad"
ENGLISH = "The women were marching in the streets of the city"


def test_emojis_become_words():
    result = preprocess("Fuerza 💜✊")
    assert result["clean_text"] == "fuerza purple heart raised fist"
    assert result["emojis"] == ["💜", "✊"]


@pytest.mark.parametrize(
    "tag, words",
    [
        ("#JusticiaParaEllas", "justicia para ellas"),
        ("#NiUnaMás", "ni una más"),
        ("#SafeStreetsAtropia", "safe streets atropia"),
        ("#NYCMarch2024", "nyc march 2024"),
        ("#safe_streets", "safe streets"),
        ("#niunamas", "niunamas"),
        ("#NOTONEMORE", "notonemore"),
    ],
)
def test_hashtag_segmentation(tag, words):
    assert split_hashtag(tag) == words


def test_hashtags_are_kept_and_segmented_in_the_text():
    result = preprocess("Hoy marchamos #JusticiaParaEllas #NiUnaMás")
    assert result["hashtags"] == ["#JusticiaParaEllas", "#NiUnaMás"]
    assert result["clean_text"] == "hoy marchamos justicia para ellas ni una más"
    assert result["tokens"] == result["clean_text"].split()


def test_punctuation_and_whitespace():
    assert preprocess("¡Hola,   MUNDO!!!  ¿Qué tal?")["clean_text"] == "hola mundo qué tal"
    assert preprocess("We don't stop.")["tokens"] == ["we", "don't", "stop"]


def test_spanish_lemmas_keep_stopwords():
    lemmas = preprocess(SPANISH)["lemmas"].split()
    assert {"mujer", "estar", "marchar", "calle"} <= set(lemmas)
    assert "la" in lemmas or "el" in lemmas  # articles are kept, lemmatised or not
    assert len(lemmas) == len(SPANISH.split())


def test_english_lemmas():
    assert preprocess(ENGLISH)["lemmas"] == "the woman be march in the street of the city"


def test_language_detection():
    assert preprocess(SPANISH)["lang"] == "es"
    assert preprocess(ENGLISH)["lang"] == "en"
    assert preprocess("")["lang"] == "unknown"
    assert preprocess("💜 ✊ 123")["lang"] == "unknown"  # emoji names must not count as English
    assert preprocess("#JusticiaParaEllas")["lang"] == "es"  # a bare hashtag still speaks a language


def test_language_set_is_the_callers():
    assert detect_languages(["Nous voulons la justice pour toutes les femmes"], ("en", "es", "fr")) == ["fr"]
    assert detect_languages(["anything at all", ""], ("es",)) == ["es", "unknown"]
    assert _detector(("en", "es")) is _detector(("en", "es"))


def test_many_matches_one_by_one():
    texts = [SPANISH, ENGLISH, "", "Hoy en la plaza 🕯️ #NoEstásSola", "We stay on the streets! #NotOneMore"]
    assert preprocess_many(texts) == [preprocess(text) for text in texts]
    assert preprocess_many([]) == []


def test_language_detection_reads_a_bounded_prefix(monkeypatch):
    """Issue 13, finding 4: lingua on a 200 KB caption cost 12 s; a prefix decides the language as well."""
    seen: list[int] = []
    real = _detector(("en", "es"))

    class Recording:
        def detect_languages_in_parallel_of(self, texts):
            seen.extend(len(text) for text in texts)
            return real.detect_languages_in_parallel_of(texts)

    monkeypatch.setattr(preprocessing, "_detector", lambda key: Recording())
    result = preprocess(SPANISH + " " + ENGLISH * 4000)
    assert result["lang"] == "es" and len(result["tokens"]) > 30_000
    assert seen and max(seen) <= LANG_PREFIX_CHARS
