"""The reference audit: for each painted image, which of its reference labels a drawn primitive backs.

Reference labels are ground truth only if the picture shows what they claim. A label is claimed by
a part of the scenario (the scene type, the crowd size, an element), and each claim rests on a
primitive: a scene's own labels on its layout's subject, a crowd size's on its people, an element's
on the primitive that draws it. The painter's `plan` says what it draws for a spec (a test holds
it equal to what the painting shows), so a label whose claims rest on nothing drawn is a lie the
audit names. Images the procedural painter did not draw (an image model, a landing folder) carry
the prompt's claim and nothing to audit it against: they are recorded as not audited.
"""

from __future__ import annotations

import json

import pandas as pd

from workbench_dagster.generation.procedural import layout_of, plan
from workbench_dagster.scenario.scenario_file import Scenario

AUDIT_COLUMNS = [
    "image_id",
    "batch",
    "scene_type",
    "reference_labels",
    "drawn_primitives",
    "backed_labels",
    "unbacked_labels",
    "status",
    "reason",
]
AUDIT_STATUSES = ["ok", "unbacked", "not_audited"]


def label_backing(scenario: Scenario, spec: dict) -> dict[str, set[str]]:
    """Label -> the primitives whose drawing would make it true, one per part of the scenario claiming it."""
    backing: dict[str, set[str]] = {}
    claims = [(label, layout_of(spec).subject) for label in scenario.scene_types[spec["scene_type"]].labels]
    claims += [(label, "people") for label in scenario.crowd_sizes[spec["crowd_size"]].labels]
    for element in spec["visible_elements"]:
        claims += [(label, scenario.element_primitive(element)) for label in scenario.elements[element].labels]
    for label, primitive in claims:
        backing.setdefault(label, set()).add(primitive)
    return backing


def audit_spec(scenario: Scenario, spec: dict, labels: list[str]) -> dict:
    """One image's audit: what the painter drew, and each reference label it backs or fails to back."""
    try:
        drawn, backing = plan(spec), label_backing(scenario, spec)
    except (KeyError, ValueError) as exc:  # a spec this scenario cannot have made: nothing backs it
        return _row(spec, labels, [], [], labels, f"spec does not fit the scenario: {exc}")
    backed = [label for label in labels if backing.get(label, set()) & set(drawn)]
    missing = [label for label in labels if label not in backed]
    reasons = [
        f"{label}: claimed through {', '.join(sorted(backing[label]))}, which the painter does not draw"
        if label in backing
        else f"{label}: no part of the scenario claims it for this spec"
        for label in missing
    ]
    return _row(spec, labels, drawn, backed, missing, "; ".join(reasons) or None)


def _row(spec: dict, labels, drawn, backed, missing, reason: str | None) -> dict:
    return {
        "scene_type": spec.get("scene_type"),
        "reference_labels": list(labels),
        "drawn_primitives": list(drawn),
        "backed_labels": list(backed),
        "unbacked_labels": list(missing),
        "status": "unbacked" if missing else "ok",
        "reason": reason,
    }


def audit_references(scenario: Scenario, prompts: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
    """One row per prompt of the batch; only images the procedural painter drew are audited."""
    status = dict(zip(images["image_id"], images["status"])) if len(images) else {}
    rows = []
    for row in prompts.to_dict("records"):
        labels = [str(x) for x in (row.get("reference_labels") if row.get("reference_labels") is not None else [])]
        base = {"image_id": row["image_id"], "batch": row["batch"]}
        if row.get("source") != "procedural":
            reason = f"drawn by {row.get('source')}, not the procedural painter: its labels are the prompt's claim"
            rows.append({**base, **_unaudited(labels, reason)})
        elif status.get(row["image_id"]) != "ok":
            rows.append({**base, **_unaudited(labels, "no stored image")})
        else:
            rows.append({**base, **audit_spec(scenario, json.loads(row["spec_json"]), labels)})
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def _unaudited(labels: list[str], reason: str) -> dict:
    return {**_row({}, labels, [], [], [], reason), "scene_type": None, "status": "not_audited"}


def unbacked_reasons(audit: pd.DataFrame) -> list[str]:
    """`image_id: reason` for every image with a reference label nothing drawn backs."""
    bad = audit[audit["status"] == "unbacked"]
    return [f"{image_id}: {reason}" for image_id, reason in zip(bad["image_id"], bad["reason"])]
