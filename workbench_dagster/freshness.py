"""What must run, for the demo runner, the updates sensor and the nightly schedule alike.

An asset partition is up to date when its latest materialization was made by the current code
version, from the current config and sources (its fingerprint), and from the very inputs that
exist now: every materialization records the data hash of each input partition it read, and the
plan compares those hashes with the inputs' latest ones. Timestamps decide nothing, so an upstream
re-run that writes the same bytes leaves everything downstream alone, and a new batch touches only
what reads it. The records are the Dagster instance's own materializations (see
`resources/parquet_io.py`, which writes the hashes), not a table kept on the side.

A partition downstream of one that will run waits for it (it is `pending`, and its item `waits_on`
the other), so one update runs each affected partition once, in order. A partition below a failed
blocking check is `blocked` and does not run at all until the check passes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

DATA_HASH = "workbench/data_hash"
INPUTS = "workbench/inputs"
FINGERPRINT = "workbench/fingerprint"


def pair_id(asset: str, key: str | None) -> str:
    """One asset partition as a string: `asset` or `asset[key]`."""
    return asset if key is None else f"{asset}[{key}]"


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Materialized:
    """What the latest materialization of one asset partition recorded."""

    data_hash: str | None
    inputs: Mapping[str, str] | None
    code_version: str | None
    fingerprint: str | None


@dataclass(frozen=True)
class Target:
    """One asset at one partition key, with what it reads now (pair ids) and what it is made by now."""

    asset: str
    key: str | None
    job: str
    parents: tuple[str, ...]
    code_version: str | None
    fingerprint: str | None

    @property
    def pair(self) -> str:
        return pair_id(self.asset, self.key)


@dataclass
class Item:
    """What one run does: some assets of one job at one partition key."""

    job: str
    key: str | None
    reasons: dict[str, str] = field(default_factory=dict)  # asset -> why it runs
    waits_on: set[tuple[str, str | None]] = field(default_factory=set)  # (job, key) items to run first
    basis: dict[str, str] = field(default_factory=dict)  # asset -> digest of the inputs it would read

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(self.reasons)

    def state(self) -> str:
        """Changes whenever what the item would run, or what from, changes: a run key, so a run that
        failed is not launched again until something it reads (or its code or config) changes."""
        return digest([self.job, self.key, sorted(self.reasons), sorted(self.basis.items())])


@dataclass
class Plan:
    items: list[Item]
    blocked: dict[str, str]  # pair -> the failed check it sits below

    def ready(self, running_with: Iterable[tuple[str, str | None]] = ()) -> list[Item]:
        """Items whose upstream items are done, or run in the same run (`running_with`)."""
        together = set(running_with)
        return [item for item in self.items if item.waits_on <= together]

    def __bool__(self) -> bool:
        return bool(self.items)


def staleness(target: Target, record: Materialized | None, inputs_now: Mapping[str, str]) -> str | None:
    """Why the target must run again, or None when it is up to date."""
    if record is None:
        return "missing"
    # an asset without a code version gets its run id recorded as one: nothing to compare then
    if target.code_version is not None and record.code_version != target.code_version:
        return f"code version {record.code_version} -> {target.code_version}"
    if target.fingerprint is not None and record.fingerprint != target.fingerprint:
        return "config or source files changed"
    before = dict(record.inputs or {})
    if before == dict(inputs_now):
        return None
    new = sorted(set(inputs_now) - set(before))
    gone = sorted(set(before) - set(inputs_now))
    changed = sorted(p for p in set(before) & set(inputs_now) if before[p] != inputs_now[p])
    parts = [
        f"{label}: {', '.join(pairs[:3])}{' ...' if len(pairs) > 3 else ''}"
        for label, pairs in (("new input", new), ("input changed", changed), ("input gone", gone))
        if pairs
    ]
    return "; ".join(parts)


def plan_updates(
    targets: list[Target],
    record_of: Callable[[str], Materialized | None],
    failed_checks: Callable[[str], list[str]] = lambda pair: [],
) -> Plan:
    """Targets come upstream first. Returns the items to run and the pairs held back by a check."""
    items: dict[tuple[str, str | None], Item] = {}
    pending: dict[str, tuple[str, str | None]] = {}  # pair -> the item that will rewrite it
    blocked: dict[str, str] = {}
    for target in targets:
        here = (target.job, target.key)
        # a parent that will run again has its checks run again: only a settled parent holds back
        settled = [p for p in target.parents if p not in pending]
        held = [blocked[p] for p in settled if p in blocked]
        held += [f"{p}: {', '.join(checks)}" for p in settled if (checks := failed_checks(p))]
        if held:
            blocked[target.pair] = held[0]
            continue
        upstream = [pending[p] for p in target.parents if p in pending]
        inputs_now = {
            p: r.data_hash for p in target.parents if p not in pending and (r := record_of(p)) is not None
        }
        if upstream:
            reason = "after " + ", ".join(sorted({p for p in target.parents if p in pending})[:3])
        else:
            reason = staleness(target, record_of(target.pair), inputs_now)
        if reason is None:
            continue
        item = items.setdefault(here, Item(target.job, target.key))
        item.reasons[target.asset] = reason
        item.basis[target.asset] = digest([inputs_now, target.fingerprint, target.code_version])
        item.waits_on.update(u for u in upstream if u != here)
        pending[target.pair] = here
    return Plan(list(items.values()), blocked)
