"""The networks stage: similarity layers, kNN graphs, centralities, Leiden communities, comparison and exports.

A model's images are nodes; variants weigh label, caption and comment layers. Used by assets/networks.py.
"""
