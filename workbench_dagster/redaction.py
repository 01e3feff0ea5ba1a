"""The one place secrets are masked, for every text the pipeline stores or logs.

Servers echo what they were sent ("Incorrect API key provided: sk-..."), and a model may repeat
a key it saw in a prompt, so a key can reach a failure row, a raw output or the call cache
through paths no backend controls. Masking at each point where such text is written (backend
errors, caption and text rows, cached payloads) keeps the README's promise whatever the server says.

Two things are masked:

- the value of every key variable the process knows of: the registry's default variables, each
  variable a backend's key was read from, and every `key_env` of a loaded config. Values are read
  from the environment when a text is masked, so a key set after the config loaded is still
  masked. A value under `MIN_SECRET_CHARS` is no secret (local servers take "EMPTY" or "none"),
  and masking it would garble every caption holding that word;
- common key shapes, wherever they come from: OpenAI-style ``sk-...``, Google ``AIza...``,
  Hugging Face ``hf_...``, GitHub ``ghp_...``, AWS ``AKIA...`` and ``Bearer`` tokens.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable

MASK = "[REDACTED]"
MIN_SECRET_CHARS = 8

_EDGE = r"(?<![A-Za-z0-9_\-])"  # "task-force-..." holds "sk-" but is no key
_SHAPES = re.compile(
    _EDGE
    + r"(?:sk-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    + r"|AKIA[0-9A-Z]{16})"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{8,}")

_lock = threading.Lock()
_watched: set[str] = set()


def watch_key_envs(names: Iterable[str | None]) -> None:
    """Adds variables whose values are masked from now on in this process."""
    with _lock:
        _watched.update(name for name in names if name)


def watch_config_keys(config) -> None:
    """Every key variable a loaded config names (models, comments, summaries, images), set or not yet."""
    sections = [*config.models, config.comments, config.graph.summaries, config.images]
    watch_key_envs(getattr(section, "key_env", None) for section in sections)


def _default_key_envs() -> set[str]:
    from workbench_dagster.backends.registry import BACKENDS  # imported late: the registry imports us

    return {spec.key_env for spec in BACKENDS.values() if spec.key_env}


def _secrets() -> list[tuple[str, str]]:
    """(value, variable) of every watched variable that holds a secret now, longest value first,
    so a key that contains another is masked whole."""
    with _lock:
        names = _watched | _default_key_envs()
    found = [(os.environ.get(name, "").strip(), name) for name in sorted(names)]
    return sorted(((v, n) for v, n in found if len(v) >= MIN_SECRET_CHARS), key=lambda pair: -len(pair[0]))


def redact(text):
    """The text with every known key value and key shape masked; anything not a string is returned as is."""
    return _redact(text, _secrets())


def redact_value(value):
    """`redact` through dicts, lists and tuples: for rows and cached payloads, whose every text field
    (error, raw output, caption, metadata) may carry what a server said."""
    return _redact_value(value, _secrets())


def _redact(text, secrets: list[tuple[str, str]]):
    if not isinstance(text, str) or not text:
        return text
    for value, name in secrets:
        if value in text:
            text = text.replace(value, f"[REDACTED:{name}]")
    text = _BEARER.sub(lambda match: match.group(1) + MASK, text)
    return _SHAPES.sub(MASK, text)


def _redact_value(value, secrets: list[tuple[str, str]]):
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, dict):
        return {key: _redact_value(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(item, secrets) for item in value)
    return value
