"""Asset definitions, one module per pipeline stage. Thin: the logic lives in workbench_dagster."""
