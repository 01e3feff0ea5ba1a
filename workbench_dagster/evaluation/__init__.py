"""The evaluation stage: metrics against references and human reviews, bootstrap intervals, agreement and drift.

Each metric is declared once in the registry; columns, intervals and table rules derive from it. Used by assets/evaluation.py.
"""
