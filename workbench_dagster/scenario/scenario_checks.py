"""Cross-field checks of a scenario file, each naming the YAML path of the mistake and what was expected.

A scenario that loads must expand and comment without a KeyError, and its reference labels must
be true by construction; so every label, element, crowd size, language and placeholder a part of
the file names is checked against the part that defines it, when the file loads.
"""

from __future__ import annotations

from string import Formatter
from typing import TYPE_CHECKING

from workbench_dagster.errors import Loc

if TYPE_CHECKING:
    from workbench_dagster.scenario.scenario_file import Scenario

# The values each kind of template is formatted with (scenario/prompts.py `_fields`,
# generation/comments.py `_values`); tests hold these sets equal to what the code builds.
PHRASE_FIELDS = frozenset(
    {"crowd", "slogan", "landmark", "location", "country", "theme", "demand", "sentiment", "time_of_day"}
)
TEMPLATE_FIELDS = PHRASE_FIELDS | {"scene_phrase", "scene_phrase_cap", "element_phrases"}
COMMENT_FIELDS = frozenset({"location", "demand", "theme", "sentiment", "slogan"})
# The spec fields a comment vocabulary may translate (generation/comments.py SPEC_FIELDS).
VOCABULARY_FIELDS = ("demand", "theme", "sentiment")
GRAMMAR_PARTS = ("openers", "bodies", "closers")

Problems = list[tuple[Loc, str]]


def one_of(values) -> str:
    return ", ".join(str(v) for v in values) if values else "(none)"


def placeholders(template: str) -> list[str]:
    """The field names a str.format template asks for; raises ValueError on unbalanced braces."""
    return [name for _, name, _, _ in Formatter().parse(template) if name is not None]


def template_problems(loc: Loc, template: str, allowed: frozenset[str]) -> Problems:
    """A placeholder the code does not fill would fail at generation with a bare KeyError."""
    expected = f"expected one of: {one_of('{' + f + '}' for f in sorted(allowed))}"
    try:
        names = placeholders(template)
    except ValueError as exc:
        return [(loc, f"broken placeholder braces ({exc}); write {{{{ or }}}} for a literal brace, {expected}")]
    problems: Problems = []
    for name in names:
        base = name.split(".", 1)[0].split("[", 1)[0]
        if base not in allowed:
            problems.append((loc, f"unknown placeholder {{{name}}}; {expected}"))
        elif base != name:
            problems.append(
                (loc, f"placeholder {{{name}}}: attribute or index access is not supported; {expected}")
            )
    if problems:
        return problems
    sample = {field: (12 if field == "crowd" else "x") for field in allowed}
    try:
        template.format(**sample)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return [(loc, f"cannot be formatted ({exc}); {expected}")]
    return []


def _unknown(loc: Loc, names: list[str] | dict[str, object], known, what: str, where: str) -> Problems:
    """Names missing from `known`, each at its own path: a list entry by index, a mapping key by name."""
    at = {name: name for name in names} if isinstance(names, dict) else dict(enumerate(names))
    return [
        ((*loc, key), f"unknown {what} {name!r}; expected one of {where}: {one_of(known)}")
        for key, name in at.items()
        if name not in known
    ]


def reference_problems(scenario: Scenario) -> Problems:
    """Every label, element, crowd size and slogan language a part of the file names must be defined."""
    labels = scenario.label_ids
    problems: Problems = []
    for name, crowd in scenario.crowd_sizes.items():
        problems += _unknown(("crowd_sizes", name, "labels"), crowd.labels, labels, "label", "the taxonomy")
        low, high = crowd.range
        if not 0 <= low <= high:
            problems.append(
                (("crowd_sizes", name, "range"), f"expected [low, high] with 0 <= low <= high, got {[low, high]}")
            )
    for name, element in scenario.elements.items():
        problems += _unknown(("elements", name, "labels"), element.labels, labels, "label", "the taxonomy")
    for name, scene in scenario.scene_types.items():
        loc = ("scene_types", name)
        problems += _unknown((*loc, "labels"), scene.labels, labels, "label", "the taxonomy")
        problems += _unknown((*loc, "elements"), scene.elements, sorted(scenario.elements), "element", "elements")
        problems += _unknown(
            (*loc, "crowd_sizes"), scene.crowd_sizes, list(scenario.crowd_sizes), "crowd size", "crowd_sizes"
        )
        slogan_languages = sorted(scenario.movement.slogans)
        if scene.text_language and scene.text_language not in slogan_languages:
            problems.append(
                (
                    (*loc, "text_language"),
                    f"no slogans in {scene.text_language!r}; expected one of movement.slogans: {one_of(slogan_languages)}",
                )
            )
    duplicates = sorted({x for x in labels if labels.count(x) > 1})
    if duplicates:
        problems.append((("taxonomy",), f"label ids must be unique; repeated: {one_of(duplicates)}"))
    problems += _weights_problems(("times_of_day",), scenario.times_of_day)
    for lang, slogans in scenario.movement.slogans.items():
        if not slogans:
            problems.append((("movement", "slogans", lang), "expected at least one slogan"))
    if not scenario.movement.slogans:
        problems.append((("movement", "slogans"), "expected at least one language with slogans"))
    return problems


def _weights_problems(loc: Loc, weights: dict[str, float]) -> Problems:
    problems: Problems = [((*loc, k), f"expected a weight >= 0, got {w}") for k, w in weights.items() if w < 0]
    if not any(w > 0 for w in weights.values()):
        problems.append((loc, "expected at least one entry with a positive weight"))
    return problems


def template_problems_of(scenario: Scenario) -> Problems:
    """Every template of the file, against the values the code formats it with."""
    problems = template_problems(("prompt_template",), scenario.prompt_template, TEMPLATE_FIELDS)
    problems += template_problems(("caption_template",), scenario.caption_template, TEMPLATE_FIELDS)
    for name, scene in scenario.scene_types.items():
        problems += template_problems(("scene_types", name, "phrase"), scene.phrase, PHRASE_FIELDS)
    for name, element in scenario.elements.items():
        problems += template_problems(("elements", name, "phrase"), element.phrase, PHRASE_FIELDS)
    for part in GRAMMAR_PARTS:
        for lang, options in getattr(scenario.comments, part).items():
            for i, option in enumerate(options):
                problems += template_problems(("comments", part, lang, i), option, COMMENT_FIELDS)
    return problems


def comment_problems(scenario: Scenario) -> Problems:
    """Each comment language needs its own grammar, or its comments would be hashtags tagged with it."""
    grammar = scenario.comments
    languages = sorted(grammar.languages)
    problems = _weights_problems(("comments", "languages"), grammar.languages)
    for lang in languages:
        missing = [part for part in GRAMMAR_PARTS if not getattr(grammar, part).get(lang)]
        if missing:
            have = {part: one_of(sorted(k for k, v in getattr(grammar, part).items() if v)) for part in missing}
            wanted = ", ".join(f"comments.{part}.{lang} (written for: {have[part]})" for part in missing)
            problems.append(
                (("comments", "languages", lang), f"language {lang!r} has no grammar; expected {wanted}")
            )
        uses_slogan = any(
            "slogan" in placeholders(option)
            for part in GRAMMAR_PARTS
            for option in getattr(grammar, part).get(lang, [])
            if not template_problems((), option, COMMENT_FIELDS)
        )
        if uses_slogan and lang not in scenario.movement.slogans:
            problems.append(
                (
                    ("comments", "languages", lang),
                    f"comments in {lang!r} use {{slogan}} but movement.slogans has no {lang!r} list; "
                    f"expected one of: {one_of(sorted(scenario.movement.slogans))}",
                )
            )
    for part in (*GRAMMAR_PARTS, "vocabulary"):
        problems += _unknown(
            ("comments", part), getattr(grammar, part), languages, "language", "comments.languages"
        )
    for lang, words in grammar.vocabulary.items():
        problems += _unknown(
            ("comments", "vocabulary", lang), words, VOCABULARY_FIELDS, "field", "the translated fields"
        )
    return problems


def scenario_problems(scenario: Scenario) -> Problems:
    return reference_problems(scenario) + template_problems_of(scenario) + comment_problems(scenario)
