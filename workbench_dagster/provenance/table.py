"""One provenance row per image of a batch: the `image_provenance` table.

Generated images are read back exactly as landing images are (the same reader, from the stored
bytes), so the table both records what landed and verifies what the Workbench wrote. An image
that never got stored (a failure row of synthetic_images) keeps its row, with provenance `none`
and the reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from workbench_dagster.provenance import c2pa_io
from workbench_dagster.provenance.reader import read_provenance

PROVENANCE_COLUMNS = [
    "image_id",
    "batch",
    "sha256",
    "source",
    "provenance",
    "declares_generated",
    "ground_truth",
    "digital_source_type",
    "c2pa_state",
    "c2pa_trusted",
    "c2pa_claim",
    "c2pa_failures",
    "xmp_source_type",
    "software",
    "camera",
    "signals",
    "flagged",
    "error",
]
LANDING_SOURCE = "folder"


def _empty(row: dict, error: str) -> dict:
    return {
        "provenance": "none",
        "declares_generated": False,
        "ground_truth": None,
        "digital_source_type": None,
        "c2pa_state": None,
        "c2pa_trusted": False,
        "c2pa_claim": None,
        "c2pa_failures": [],
        "xmp_source_type": None,
        "software": None,
        "camera": None,
        "signals": [],
        "error": error,
    }


def provenance_rows(
    images: pd.DataFrame, read: Callable[[str], bytes], trust_anchors_pem: bytes | None
) -> pd.DataFrame:
    """`images` is a synthetic_images frame; `read` gets a stored image's bytes by its uri."""
    context = c2pa_io.reading_context(trust_anchors_pem)
    rows = []
    for row in images.to_dict("records"):
        base = {k: row.get(k) for k in ("image_id", "batch", "sha256", "source")}
        if row.get("status") != "ok":
            found = _empty(row, f"not stored: {row.get('error')}")
        else:
            try:
                found = read_provenance(read(row["uri"]), context)
            except OSError as exc:
                found = _empty(row, f"{row['uri']}: {exc}")
        flagged = row.get("source") == LANDING_SOURCE and found["declares_generated"]
        rows.append({**base, **found, "flagged": bool(flagged)})
    return pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)


def own_unverified(table: pd.DataFrame) -> list[str]:
    """Images the Workbench generated whose own manifest did not read back as Trusted."""
    own = table[(table["source"] != LANDING_SOURCE) & table["error"].isna()]
    bad = own[own["c2pa_state"] != "Trusted"]
    return [f"{r.image_id}: {r.c2pa_state or 'no manifest'} {list(r.c2pa_failures)}" for r in bad.itertuples()]


def flagged_landing(table: pd.DataFrame) -> list[str]:
    """Landing images that declare themselves generated: never to be read as photos."""
    rows = table[table["flagged"].astype(bool)]
    return [f"{r.image_id}: {r.provenance} ({', '.join(r.signals)})" for r in rows.itertuples()]
