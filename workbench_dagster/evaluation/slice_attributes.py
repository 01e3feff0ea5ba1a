"""The slices of a corpus: every attribute its images' specs carry, and each image's value of it.

The attributes are read from the specs, not listed in code: a scenario that adds a spec field gets a
slice for it. A spec field is an attribute when its values are words (scene type, setting, time of
day, crowd size, text language, theme, ...). Numbers (the head count) are left to the attribute that
bins them (crowd size), and lists (visible elements, primitives) are what the reference labels are
made of, so they are not slices, except a field the scenario declares under `demographics` (skin
tones, gender, age group as drawn): a list of those reads as its one value, or `mixed`. Two fields
that cut the images into the same groups (a location and its landmark) are one attribute, kept under
the first name in `PREFERRED` order, so the multiple-testing correction counts one test, not two.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

# Which name a duplicate attribute keeps, and the order attributes are reported in; every other spec
# field follows in alphabetical order. Only an order: no field here is required.
PREFERRED = ("scene_type", "setting", "time_of_day", "crowd_size", "text_language", "layout")
MISSING = "(none)"  # an image whose spec lacks the field: its own slice, never dropped
MIXED = "mixed"  # a demographic list holding more than one value (people of several skin tones)


def specs_of(prompts: pd.DataFrame) -> dict[str, dict]:
    """image_id -> spec, for the images that have one (landing images have none and no reference)."""
    if prompts.empty:
        return {}
    rows = prompts[prompts["spec_json"].notna()]
    return {image_id: json.loads(spec) for image_id, spec in zip(rows["image_id"], rows["spec_json"])}


def _flat(spec: dict, demographics: frozenset[str]) -> dict[str, object]:
    """The spec with one level of a dict of demographics lifted up (e.g. spec['people']['gender'])."""
    out = dict(spec)
    for key, value in spec.items():
        if isinstance(value, dict) and demographics & set(value):
            out.pop(key)
            out.update({k: v for k, v in value.items() if k in demographics})
    return out


def _value(value: object, demographic: bool) -> str | None:
    """A field's slice value, or None when the field is not a slice (a number, a list of elements)."""
    if isinstance(value, str):
        return value
    if demographic and isinstance(value, list) and all(isinstance(v, str) for v in value):
        distinct = sorted(set(value))
        return MISSING if not distinct else distinct[0] if len(distinct) == 1 else MIXED
    return None


def attribute_frame(
    specs: dict[str, dict], demographics: Iterable[str] = (), wanted: list[str] | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """(one row per image: image_id and a column per attribute, the duplicates dropped as {dropped: kept}).

    `wanted` keeps only those attributes (a name no spec carries is an error, naming what they carry).
    """
    demographic = frozenset(demographics)
    flat = {image_id: _flat(spec, demographic) for image_id, spec in specs.items()}
    values: dict[str, dict[str, str]] = {}
    for image_id, spec in flat.items():
        for key, raw in spec.items():
            # a demographic list is read where the spec records people (spec["demographics"]), not a
            # top-level palette the painter draws from (spec["skin_tones"]; the group is `skin_tone`)
            value = _value(raw, key in demographic and key not in specs[image_id])
            if value is not None:
                values.setdefault(key, {})[image_id] = value
    order = sorted(values, key=lambda k: (PREFERRED.index(k) if k in PREFERRED else len(PREFERRED), k))
    if wanted is not None:
        unknown = sorted(set(wanted) - set(values))
        if unknown and flat:
            raise ValueError(
                f"audit.attributes: {unknown} are not spec fields of these images; they carry {order}"
            )
        order = [k for k in order if k in wanted]
    ids = list(flat)
    frame = pd.DataFrame({"image_id": ids, **{k: [values[k].get(i, MISSING) for i in ids] for k in order}})
    return _deduplicated(frame, order)


def _deduplicated(frame: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Drops every attribute whose groups are exactly an earlier attribute's."""
    kept, dropped, seen = [], {}, {}
    for key in order:
        codes = tuple(pd.factorize(frame[key])[0])
        if codes in seen:
            dropped[key] = seen[codes]
            continue
        seen[codes] = key
        kept.append(key)
    return frame[["image_id", *kept]], dropped
