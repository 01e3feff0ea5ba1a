"""AI Workbench: how multimodal LLMs see a collection of images.

Everything in this package except `definitions.py` is the Dagster-free core.
"""
