"""The network pictures: a community keeps its colour on every picture, and the legend names its top labels."""

import io

import numpy as np
import pandas as pd
from PIL import Image

from workbench_dagster.networks.figures import (
    community_colour,
    community_legend,
    legend_line,
    map_figure,
    map_thumbnail,
    network_figure,
)
from workbench_dagster.thumbnails import INLINE_LIMIT, fitting_png, inline_markdown


def nodes(sizes: dict[int, int]) -> pd.DataFrame:
    """Communities of the given sizes, each a tight cluster on its own corner of the map."""
    rows, rng = [], np.random.default_rng(0)
    for c, n in sizes.items():
        centre = np.array([c % 2, c // 2], dtype=float) * 10
        for k in range(n):
            x, y = centre + rng.normal(0, 0.3, 2)
            rows.append({"node": f"c{c}-{k}", "community": c, "x": x, "y": y, "pagerank": 1 / 40})
    return pd.DataFrame(rows)


def test_the_legend_lists_the_largest_communities_with_their_most_common_labels():
    table = nodes({0: 3, 1: 5, 2: 2})
    labels = {f"c1-{k}": ["road", "car"] if k < 4 else ["sign"] for k in range(5)}
    labels |= {"c0-0": ["tree"], "c0-1": ["tree", "tree"], "c0-2": ["sky"]}
    assert community_legend(table, labels, n=2) == [(1, "C1 (5): car, road, sign"), (0, "C0 (3): tree, sky")]
    assert community_legend(table, labels)[-1] == (2, "C2 (2): no labels")
    assert legend_line(table, labels, n=2) == "C1 (5): car, road, sign · C0 (3): tree, sky"
    assert len(legend_line(table, labels, width=20)) == 20


def test_pictures_carry_the_legend_in_the_communities_own_colours():
    table = nodes({0: 4, 3: 6})
    labels = {node: ["car"] for node in table["node"]}
    edges = pd.DataFrame({"source": ["c0-0", "c3-0"], "target": ["c0-1", "c3-1"], "weight": [1.0, 1.0]})
    for fig in (network_figure(table, edges, "t", labels), map_figure(table, "t", labels)):
        legend = fig.axes[0].get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["C3 (6): car", "C0 (4): car"]
        colours = [tuple(np.round(h.get_facecolor(), 3)) for h in legend.legend_handles]
        assert colours == [tuple(np.round(community_colour(3), 3)), tuple(np.round(community_colour(0), 3))]
    assert community_colour(3) != community_colour(0) and community_colour(-1)[:3] == (0.6, 0.6, 0.6)


def test_the_map_thumbnail_fits_the_inline_limit_in_community_colours_or_says_it_cannot():
    table = nodes({0: 20, 1: 20})
    png = map_thumbnail(table, "labels communities")
    assert len(inline_markdown(png, "labels communities")) < INLINE_LIMIT
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    present = {tuple(p) for p in image}
    for c in (0, 1):
        assert tuple(int(v * 255) for v in community_colour(c)[:3]) in present
    noise = np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    assert fitting_png(noise, "noise", min_side=100) is None  # too detailed at every size tried
