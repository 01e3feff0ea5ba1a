"""Dagster resources: thin wrappers that hand the core its config, device and storage."""
