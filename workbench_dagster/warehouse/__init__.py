"""The warehouse stage: the DuckDB file analysts open, its SQL models, and the rules every table must satisfy.

Published atomically so a reader never sees a half-written build. Used by assets/warehouse.py and the asset checks.
"""
