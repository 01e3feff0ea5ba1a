"""The captioning stage: the caption loop with its cache, retries and parsing, and the in-graph baseline model.

Every model answer becomes one row, success or failure, paid for once. Used by assets/captioning.py.
"""
