"""Partition keys that Dagster accepts.

Multi-partition keys join dimensions with `|` and key ranges use `,`, `[` and `]`; a dynamic
key holding one of those is silently dropped, so every key from the outside world is cleaned.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_key(raw: str) -> str:
    cleaned = _UNSAFE.sub("_", raw.strip()).strip("_")
    if not cleaned:
        raise ValueError(f"cannot make a partition key from {raw!r}")
    return cleaned[:120]
