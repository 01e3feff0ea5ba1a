"""User-facing errors: a bad file names the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

M = TypeVar("M", bound=BaseModel)


class WorkbenchConfigError(ValueError):
    """A user mistake in a config or scenario file; the message is the whole story, no traceback needed."""


Loc = tuple[str | int, ...]
LOCATED = "workbench_located"


def located_error(title: str, problems: list[tuple[Loc, str]]) -> ValidationError:
    """Raised from a model validator: pydantic reports a plain ValueError there at the top level, and a
    cross-reference mistake must still name its own YAML path. Pydantic prefixes the outer path itself."""
    details = [
        InitErrorDetails(type=PydanticCustomError(LOCATED, "{problem}", {"problem": text}), loc=loc, input=None)
        for loc, text in problems
    ]
    return ValidationError.from_exception_data(title, details)


def yaml_path(loc: Loc) -> str:
    """('scene_types', 'march', 'elements', 0) -> scene_types.march.elements[0], as one reads the YAML."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for item in error.errors():
        where = yaml_path(item["loc"])
        message = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        got = item.get("input")
        shown = ""
        if item["type"] not in (LOCATED, "missing") and not isinstance(got, (dict, list)):
            shown = f" (got {got!r})"  # a mapping's or list's type says nothing the path does not
        if shown and any(word in where.lower() for word in ("key", "token", "secret", "password")):
            shown = " (got <redacted>)"  # a secret pasted into the YAML is never echoed into logs
        lines.append(f"  - {where}: {message}{shown}" if where else f"  - {message}")
    return "\n".join(lines)


def load_yaml_model(path: Path, model: type[M]) -> M:
    if not path.is_file():
        raise WorkbenchConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WorkbenchConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WorkbenchConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise WorkbenchConfigError(describe_validation_error(path, exc)) from None
