"""Communities of a graph: seeded Leiden, hierarchical Leiden, and the modularity of a partition.

Community ids are renumbered by size (0 the largest, ties to the earlier node) so that a
partition reads the same way whatever ids graspologic hands out, and every node, isolated
ones included, lands in a community.
"""

from __future__ import annotations

import warnings

import networkx as nx


def _renumber_by_size(raw: dict, nodes: list) -> dict:
    """Community ids 0.. by decreasing size, ties to the community whose first node comes first."""
    members: dict = {}
    for node in nodes:
        members.setdefault(raw[node], []).append(node)
    order = sorted(members.values(), key=len, reverse=True)  # stable: first-seen order breaks ties
    return {node: new_id for new_id, group in enumerate(order) for node in group}


def leiden_communities(G: nx.Graph, resolution: float, seed: int) -> dict:
    """Leiden communities with stable ids: 0 is the largest, ties go to the earlier node.

    graspologic leaves isolated nodes out, but every image must land somewhere, so each
    becomes a community of one. graspologic is imported here because importing it takes
    many seconds and only this step needs it. The seed must be > 0 (graspologic's
    native PRNG rejects 0).
    """
    from graspologic.partition import leiden

    raw = {}
    if G.number_of_edges():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Leiden partitions do not contain all nodes")
            raw = leiden(G, resolution=float(resolution), random_seed=int(seed))
    fresh = max(raw.values(), default=-1) + 1
    for node in G:
        if node not in raw:
            raw[node], fresh = fresh, fresh + 1
    return _renumber_by_size(raw, list(G))


def modularity(G: nx.Graph, partition: dict) -> float:
    """Weighted modularity of a partition; 0.0 for a graph with no edges, where it is undefined."""
    if G.number_of_edges() == 0:
        return 0.0
    groups: dict[int, set] = {}
    for node, community in partition.items():
        groups.setdefault(community, set()).add(node)
    return float(nx.community.modularity(G, groups.values(), weight="weight"))


def hierarchical_communities(G: nx.Graph, resolution: float, seed: int, max_cluster_size: int) -> list[dict]:
    """Hierarchical Leiden (graspologic): one full partition of every node per level.

    graspologic re-clusters only communities larger than `max_cluster_size`, so a node
    missing at a deeper level keeps the community it had one level up; isolated nodes
    (which graspologic leaves out) are communities of one. Level ids are renumbered by size
    like `leiden_communities`, so level 0 reads the same way as the flat partition.
    """
    from graspologic.partition import hierarchical_leiden

    nodes = list(G)
    if not nodes:
        return []
    by_level: dict[int, dict] = {}
    if G.number_of_edges():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*partitions do not contain all nodes.*")
            clusters = hierarchical_leiden(
                G, max_cluster_size=int(max_cluster_size), resolution=float(resolution), random_seed=int(seed)
            )
        for c in clusters:
            by_level.setdefault(int(c.level), {})[c.node] = int(c.cluster)
    levels = []
    previous: dict = {}
    fresh = 1 + max((v for level in by_level.values() for v in level.values()), default=-1)
    for level in sorted(by_level) or [0]:
        current = dict(previous)
        current.update(by_level.get(level, {}))
        for node in nodes:
            if node not in current:
                current[node], fresh = fresh, fresh + 1
        levels.append(_renumber_by_size(current, nodes))
        previous = current
    return levels
