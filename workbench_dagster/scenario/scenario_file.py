"""The scenario file: the one place a case study lives, and the schema it is checked against.

The code knows the schema, never the case (Atropia is only a YAML file). Cross-references
are checked when the file loads, since a scene naming an unknown label would make every
reference label it implies a lie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from workbench_dagster.errors import load_yaml_model

Layout = Literal["crowd", "portrait", "flyer", "cartoon", "monument"]


class TaxonomyLabel(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    description: str = ""


class Location(BaseModel):
    name: str
    kind: str = "place"
    landmark: str


class CrowdSize(BaseModel):
    range: tuple[int, int]
    labels: list[str] = []


class Element(BaseModel):
    labels: list[str] = []
    phrase: str


class SceneType(BaseModel):
    layout: Layout
    weight: float = Field(1.0, gt=0)
    text_language: str | None = None
    crowd_sizes: list[str] = Field(min_length=1)
    labels: list[str] = []
    elements: dict[str, float] = {}
    phrase: str


class Movement(BaseModel):
    name: str
    hashtags: list[str] = Field(min_length=1)
    colors: list[str] = Field(min_length=1)
    slogans: dict[str, list[str]]


class CommentGrammar(BaseModel):
    languages: dict[str, float]
    emojis: list[str] = Field(min_length=1)
    openers: dict[str, list[str]]
    bodies: dict[str, list[str]]
    closers: dict[str, list[str]]
    vocabulary: dict[str, dict[str, list[str]]] = {}


class Scenario(BaseModel):
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

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        """Every label, element and crowd size a scene names must exist, or references would lie."""
        known = set(self.label_ids)
        problems: list[str] = []
        for name, crowd in self.crowd_sizes.items():
            problems += [f"crowd_sizes.{name}.labels: unknown label {x!r}" for x in crowd.labels if x not in known]
        for name, element in self.elements.items():
            problems += [f"elements.{name}.labels: unknown label {x!r}" for x in element.labels if x not in known]
        for name, scene in self.scene_types.items():
            problems += [f"scene_types.{name}.labels: unknown label {x!r}" for x in scene.labels if x not in known]
            problems += [
                f"scene_types.{name}.elements: unknown element {x!r}"
                for x in scene.elements
                if x not in self.elements
            ]
            problems += [
                f"scene_types.{name}.crowd_sizes: unknown crowd size {x!r}"
                for x in scene.crowd_sizes
                if x not in self.crowd_sizes
            ]
            if scene.text_language and scene.text_language not in self.movement.slogans:
                problems.append(f"scene_types.{name}.text_language: no slogans for {scene.text_language!r}")
        if len(known) != len(self.taxonomy):
            problems.append("taxonomy: label ids must be unique")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def label_ids(self) -> list[str]:
        return [t.id for t in self.taxonomy]

    def label_name(self, label_id: str) -> str:
        """The label's display name; an id outside the taxonomy is shown as it is."""
        return next((t.name for t in self.taxonomy if t.id == label_id), label_id)


def load_scenario(path: str | Path) -> Scenario:
    return load_yaml_model(Path(path), Scenario)
