"""The scenario stage: the workbench.yaml schema, scenario files, and their seeded expansion into prompt batches.

Ground truth (reference labels and captions) is fixed here, from each prompt's spec. Used by assets/generation.py and, through the config, by every stage.
"""
