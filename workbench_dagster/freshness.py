"""Which stages of the graph are missing or stale, for the nightly schedule.

A stage is a set of assets sharing a partition key. It is missing when any of its assets has
never been materialized for that key, and stale when something it reads was materialized after
it. Only stages whose own inputs are fresh are refreshed in one tick: running a stage on inputs
that are about to change would waste the run, and eager automation carries the change onward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Timestamp = Callable[[str, str | None], float | None]


@dataclass(frozen=True)
class Stage:
    name: str
    assets: tuple[str, ...]
    keys: tuple[str | None, ...]
    upstream: Callable[[str | None], list[tuple[str, str | None]]]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refresh:
    stage: str
    assets: tuple[str, ...]
    key: str | None
    reason: str


def needs_refresh(own: list[float | None], upstream: list[float | None]) -> str | None:
    if not own or any(t is None for t in own):
        return "missing"
    known = [t for t in upstream if t is not None]
    if known and max(known) > min(own):
        return "stale"
    return None


def plan_refresh(stages: list[Stage], timestamp: Timestamp) -> list[Refresh]:
    plan: list[Refresh] = []
    pending_stages: set[str] = set()
    for stage in stages:  # stages come in topological order
        blocked = any(name in pending_stages for name in stage.after)
        for key in stage.keys:
            own = [timestamp(asset, key) for asset in stage.assets]
            reason = needs_refresh(own, [timestamp(asset, k) for asset, k in stage.upstream(key)])
            if reason:
                pending_stages.add(stage.name)
                if not blocked:
                    plan.append(Refresh(stage.name, stage.assets, key, reason))
    return plan
