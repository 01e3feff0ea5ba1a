"""Rules every stage applies the same way: how a backend that cannot run here fails a run, and how a
recipe's versions become a Dagster code version. (When an asset follows its inputs is the update
plan's business: assets/_shared/updates.py.)"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from workbench_dagster.backends.base import BackendUnavailable


@contextmanager
def backend_failures() -> Iterator[None]:
    """A backend that cannot run here (no key, no GPU, no server) fails the run with what to set,
    not a deep traceback, and is not retried: retrying cannot conjure a key."""
    try:
        yield
    except BackendUnavailable as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def code_version(**versions: object) -> str | None:
    """The versions a recipe's output depends on, named, as one string: bump any and the UI marks the
    asset stale. None when no version applies, which Dagster reads as "not versioned"."""
    named = [f"{name}={version}" for name, version in versions.items() if version is not None]
    return "+".join(named) or None
