"""What `models[].params` may hold, declared once per backend (registry.py's `BackendSpec.params`).

The config load checks every key against its backend's declaration, so `epoch: 30` stops the load
with the file, the YAML path and the keys that would work, instead of passing and failing minutes
later inside an asset. Imports no SDK: the declarations are plain pydantic models.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError


class NoParams(BaseModel):
    """The backends that call a model take its settings as fields of the model entry, not as params."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BaselineParams(NoParams):
    """What captioning/baseline.py reads to train the in-graph CNN."""

    channels: int = Field(16, gt=0)
    epochs: int = Field(30, gt=0)
    lr: float = Field(3e-3, gt=0)
    batch_size: int = Field(32, gt=0)
    weight_decay: float = Field(1e-4, ge=0)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_only(cls, value):
        """YAML's `yes` is a bool, which pydantic would take for 1: a typo should not train."""
        if isinstance(value, bool):
            raise ValueError("must be a number, not a boolean")
        return value

    @classmethod
    def from_dict(cls, params: dict | None) -> BaselineParams:
        """For callers outside the config load (a checkpoint's saved params): a ValueError naming the key."""
        try:
            return cls.model_validate(dict(params or {}))
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc']))!r}: {e['msg']}" for e in exc.errors()]
            known = ", ".join(cls.model_fields)
            raise ValueError(f"bad baseline param(s) {'; '.join(problems)}; known: {known}") from None


def check_params(backend: str, declared: type[NoParams], params: dict, entry_fields: set[str]) -> dict:
    """`params` unchanged when `declared` accepts every key and value; else a ValidationError whose
    locations are the keys (pydantic prefixes them with the entry's path, `models.0.params`).

    `entry_fields` are the model entry's own fields: a key among them was written one level too deep."""
    try:
        declared.model_validate(params)
    except ValidationError as exc:
        allowed = list(declared.model_fields)
        errors = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                message = _unknown_key(backend, key, allowed, entry_fields)
            errors.append(
                {
                    "type": PydanticCustomError("backend_param", message),
                    "loc": error["loc"],
                    "input": error["input"],
                }
            )
        raise ValidationError.from_exception_data("params", errors) from None
    return params


def _unknown_key(backend: str, key: str, allowed: list[str], entry_fields: set[str]) -> str:
    if key in entry_fields:
        return f"{key!r} is a field of the model entry, not a param of backend {backend!r}: write it next to `backend`"
    if not allowed:
        return f"backend {backend!r} takes no params (its settings are fields of the model entry)"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown param {key!r} for backend {backend!r}{hint}; accepted: {', '.join(allowed)}"
