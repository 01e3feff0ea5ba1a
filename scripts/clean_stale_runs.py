"""`make dev`, before `dagster dev`: the config's own instance, with runs whose process died released.

Prints the instance folder (the DAGSTER_HOME `make dev` passes to `dagster dev`) on stdout and what it
released on stderr. WORKBENCH_CONFIG selects the config, as for the code location.
"""

from __future__ import annotations

import sys


def main() -> int:
    import dagster as dg

    from assets._shared.instance import prepare_instance_home, release_dead_runs
    from workbench_dagster.errors import WorkbenchConfigError
    from workbench_dagster.scenario.config import config_path_from_env, load_config

    try:
        config = load_config(config_path_from_env())
    except WorkbenchConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    home = prepare_instance_home(config)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        released = release_dead_runs(instance, log=lambda line: print(line, file=sys.stderr))
    print(f"Dagster instance {home}: {len(released) or 'no'} dead run(s) released", file=sys.stderr)
    print(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
