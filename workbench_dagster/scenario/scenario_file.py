"""The scenario file: the one place a case study lives, and the schema it is checked against.

The code knows the schema, never the case (Atropia is only a YAML file). Cross-references
are checked when the file loads, since a scene naming an unknown label would make every
reference label it implies a lie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench_dagster.errors import load_yaml_model, located_error
from workbench_dagster.scenario.painter_checks import painter_problems
from workbench_dagster.scenario.scenario_checks import scenario_problems

Layout = Literal["crowd", "portrait", "flyer", "cartoon", "monument"]
Probability = Annotated[float, Field(ge=0, le=1)]


class ScenarioPart(BaseModel):
    """A misspelt optional key would otherwise be dropped and its default used without a word."""

    model_config = ConfigDict(extra="forbid")


class TaxonomyLabel(ScenarioPart):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    description: str = ""


class Location(ScenarioPart):
    name: str
    kind: str = "place"
    landmark: str


class CrowdSize(ScenarioPart):
    range: tuple[int, int]
    labels: list[str] = []


class Element(ScenarioPart):
    labels: list[str] = []
    phrase: str
    primitive: str | None = None  # what the painter draws for it (generation/vocabulary.py); default: its name


class SceneType(ScenarioPart):
    layout: Layout
    weight: float = Field(1.0, gt=0)
    text_language: str | None = None
    crowd_sizes: list[str] = Field(min_length=1)
    labels: list[str] = []
    elements: dict[str, Probability] = {}
    phrase: str


class Movement(ScenarioPart):
    name: str
    hashtags: list[str] = Field(min_length=1)
    colors: list[str] = Field(min_length=1)
    slogans: dict[str, list[str]]


class CommentGrammar(ScenarioPart):
    languages: dict[str, float]
    emojis: list[str] = Field(min_length=1)
    openers: dict[str, list[str]]
    bodies: dict[str, list[str]]
    closers: dict[str, list[str]]
    vocabulary: dict[str, dict[str, list[str]]] = {}


class FlyerText(ScenarioPart):
    """Every word a flyer in one language prints besides its slogan and hashtag, so none is the code's."""

    headings: list[str] = Field(min_length=1)  # the call at the top, e.g. MARCHA
    dates: list[str] = Field(min_length=1)  # when, e.g. SÁBADO 18H
    demand_line: str = "{demand}"  # e.g. "EXIGIMOS: {demand}"
    place_line: str = "{place}"  # e.g. "EN {place}"
    demands: dict[str, str]  # each item of `demands` in this language
    places: dict[str, str]  # each location's name in this language


class Scenario(ScenarioPart):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str
    country: str
    movement: Movement
    locations: list[Location] = Field(min_length=1)
    themes: list[str] = Field(min_length=1)
    issues: list[str] = []
    demands: list[str] = Field(min_length=1)
    sentiments: list[str] = Field(min_length=1)
    crowd_sizes: dict[str, CrowdSize]
    demographics: dict[str, dict[str, float] | list[str]] = {}
    taxonomy: list[TaxonomyLabel] = Field(min_length=1)
    elements: dict[str, Element] = {}
    scene_types: dict[str, SceneType] = Field(min_length=1)
    times_of_day: dict[str, float] = {"day": 0.5, "night": 0.5}
    prompt_template: str
    caption_template: str
    comments: CommentGrammar
    flyers: dict[str, FlyerText] = {}  # per language; every language a flyer scene prints needs one

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        """Every name, language and placeholder a part of the file uses must resolve (scenario_checks.py),
        or references would lie and generation would fail long after the load."""
        problems = scenario_problems(self) + painter_problems(self)
        if problems:
            raise located_error("Scenario", problems)
        return self

    @property
    def label_ids(self) -> list[str]:
        return [t.id for t in self.taxonomy]

    def element_primitive(self, element: str) -> str:
        """The painter's primitive that draws a scene element."""
        return self.elements[element].primitive or element

    def label_name(self, label_id: str) -> str:
        """The label's display name; an id outside the taxonomy is shown as it is."""
        return next((t.name for t in self.taxonomy if t.id == label_id), label_id)


def load_scenario(path: str | Path) -> Scenario:
    return load_yaml_model(Path(path), Scenario)
