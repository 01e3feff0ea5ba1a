"""`make demo`: materialize the whole graph offline on the embedded defaults, then show the leaderboard."""

from __future__ import annotations

import os
import sys
import time


def main() -> int:
    import dagster as dg

    from assets._shared.instance import config_and_home
    from assets._shared.runner import run_pipeline

    config, home = config_and_home()
    # The config's own instance, whatever DAGSTER_HOME said: another config's partitions are not this one's
    os.environ["DAGSTER_HOME"] = str(home)
    # importing the code location builds its definitions from the same WORKBENCH_CONFIG: use those
    from workbench_dagster.definitions import defs
    from workbench_dagster.warehouse.leaderboard import short_leaderboard_text

    started = time.perf_counter()
    print(
        f"AI Workbench demo: scenario {config.scenario.name}, batches {config.batch_ids}, models {config.model_ids}"
    )
    with dg.DagsterInstance.get() as instance:
        run_pipeline(defs, instance, config)
    print(f"\nDone in {time.perf_counter() - started:.0f}s.\n\nModel leaderboard (held-out batches):")
    print(short_leaderboard_text(config.warehouse))
    print(f"\nDagster instance: {config.dagster_home}\nWarehouse: {config.warehouse}")
    print(
        f"  in Python: .venv/bin/python -c \"import duckdb; print(duckdb.connect('{config.warehouse}', read_only=True).sql('show tables'))\""
    )
    print(f"  or with the DuckDB CLI, if installed: duckdb -readonly {config.warehouse}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
