"""Which jobs of the graph are missing or stale, for the nightly schedule.

A job is a set of assets sharing a partition key. It is missing when any of its assets has never
been materialized for that key, and stale when something it reads was materialized after it.
Only jobs whose own inputs are fresh are refreshed in one tick: running a job on inputs that are
about to change would waste the run, and eager automation carries the change onward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Timestamp = Callable[[str, str | None], float | None]


@dataclass(frozen=True)
class Job:
    name: str
    assets: tuple[str, ...]
    keys: tuple[str | None, ...]
    upstream: Callable[[str | None], list[tuple[str, str | None]]]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refresh:
    job: str
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


def plan_refresh(jobs: list[Job], timestamp: Timestamp) -> list[Refresh]:
    plan: list[Refresh] = []
    pending_jobs: set[str] = set()
    for job in jobs:  # jobs come in topological order
        blocked = any(name in pending_jobs for name in job.after)
        for key in job.keys:
            own = [timestamp(asset, key) for asset in job.assets]
            reason = needs_refresh(own, [timestamp(asset, k) for asset, k in job.upstream(key)])
            if reason:
                pending_jobs.add(job.name)
                if not blocked:
                    plan.append(Refresh(job.name, job.assets, key, reason))
    return plan
