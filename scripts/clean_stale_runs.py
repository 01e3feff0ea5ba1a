"""`make dev`, before `dagster dev`: the config's own instance, with runs whose process died released.

Prints the instance folder (the DAGSTER_HOME `make dev` passes to `dagster dev`) on stdout and what it
released on stderr. WORKBENCH_CONFIG selects the config, as for the code location.
"""

from __future__ import annotations

import sys


def main() -> int:
    import dagster as dg

    from assets._shared.instance import config_and_home, release_dead_runs

    _, home = config_and_home()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        released = release_dead_runs(instance, log=lambda line: print(line, file=sys.stderr))
    print(f"Dagster instance {home}: {len(released) or 'no'} run(s) released", file=sys.stderr)
    print(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
