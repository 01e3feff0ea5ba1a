"""Asset definitions, one module per pipeline stage, named as its asset group; each returns its
Definitions. Thin: the logic lives in workbench_dagster. `_shared/` holds what the stages share."""
