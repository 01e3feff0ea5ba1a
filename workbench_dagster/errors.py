"""User-facing errors: a bad file names the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class WorkbenchConfigError(ValueError):
    """A user mistake in a config or scenario file; the message is the whole story, no traceback needed."""


def describe_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = item.get("input")
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        if any(word in where.lower() for word in ("key", "token", "secret", "password")):
            shown = "<redacted>"  # a secret pasted into the YAML is never echoed into logs
        lines.append(f"  - field '{where}': {item['msg']} (got {shown})")
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
