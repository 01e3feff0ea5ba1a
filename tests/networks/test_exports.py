"""Gephi files load back with the stored nodes, edges and weights; stale files are removed."""

import networkx as nx
import numpy as np

from tests.helpers import SETTINGS
from workbench_dagster.networks.exports import export_networks
from workbench_dagster.networks.variant_registry import BIPARTITE


def test_exports_load_back_with_the_same_nodes_edges_and_weights(planted_pipeline, tmp_path):
    captions, *_, edges, centrality, _ = planted_pipeline
    paths = export_networks("m1", captions, edges, centrality, tmp_path)
    assert set(paths) == {*SETTINGS.variants, BIPARTITE}
    for variant, files in paths.items():
        mine = edges[edges["variant"] == variant]
        expected = {
            frozenset((s, t)): w for s, t, w in mine[["source", "target", "weight"]].itertuples(index=False)
        }
        for G in (nx.read_gexf(files["gexf"]), nx.read_graphml(files["graphml"])):
            assert set(captions["image_id"]) <= set(G.nodes)
            got = {frozenset((u, v)): d["weight"] for u, v, d in G.edges(data=True)}
            assert got.keys() == expected.keys(), variant
            np.testing.assert_allclose([got[e] for e in expected], list(expected.values()))
            if variant != BIPARTITE:
                node = captions["image_id"].iloc[0]
                assert int(G.nodes[node]["community"]) == int(
                    centrality.set_index(["variant", "node"]).loc[(variant, node), "community"]
                )


def test_exports_write_only_the_configured_formats(planted_pipeline, tmp_path):
    captions, *_, edges, centrality, _ = planted_pipeline
    both = export_networks("m1", captions, edges, centrality, tmp_path)
    assert len(list((tmp_path / "m1").iterdir())) == 2 * len(both)
    (tmp_path / "m1" / "notes.txt").write_text("mine")
    paths = export_networks("m1", captions, edges, centrality, tmp_path, ["graphml"])
    assert {fmt for files in paths.values() for fmt in files} == {"graphml"}
    files = sorted(p.name for p in (tmp_path / "m1").iterdir())
    assert files == sorted([f"{v}.graphml" for v in paths] + ["notes.txt"])  # stale GEXF gone, other files kept
    assert export_networks("m1", captions, edges, centrality, tmp_path, []) == {}
    assert [p.name for p in (tmp_path / "m1").iterdir()] == ["notes.txt"]
    assert export_networks("m1", captions, edges, centrality, tmp_path / "none", []) == {}
