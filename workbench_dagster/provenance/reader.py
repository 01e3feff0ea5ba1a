"""What an image says about where it came from, read from the file, into one verdict.

Three kinds of evidence, strongest first:

1. a C2PA manifest whose signature and hashes validate (`Trusted`: signed by the Workbench's own
   identity; `Valid`: intact, signer unknown). Its `c2pa.created` action names the source type;
2. declarations anyone can write: the IPTC digital source type in XMP, an EXIF or PNG `Software`
   value of a known generator, the PNG text keys generator front ends write (`parameters`,
   `prompt`, `workflow`), a C2PA manifest that does not validate;
3. camera declarations: an IPTC capture type, or the EXIF `Make`/`Model` of a device.

`provenance` is `c2pa-verified` for (1), else `declared-synthetic` when any declaration says
generated, else `declared-camera` for (3), else `none`. A generated declaration outranks a camera
one (an AI edit of a photo keeps its EXIF), so an image that says it is generated is never read as
a photo. `signals` lists every piece of evidence found, so a person can see why.
"""

from __future__ import annotations

import io

from workbench_dagster.provenance import c2pa_io, xmp
from workbench_dagster.provenance.vocabulary import (
    GENERATOR_PNG_KEYS,
    declares_capture,
    declares_synthetic,
    generator_software,
    normalise,
    term,
)

PROVENANCES = ("c2pa-verified", "declared-synthetic", "declared-camera", "none")
C2PA_STATES = ("Trusted", "Valid", "Invalid")
_EXIF_MAKE, _EXIF_MODEL, _EXIF_SOFTWARE = 0x010F, 0x0110, 0x0131


def _exif_and_text(data: bytes) -> dict:
    """EXIF Make/Model/Software and PNG text chunks, as Pillow reads them (no pixels decoded)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            text = {str(k): str(v) for k, v in getattr(image, "text", {}).items()}
    except Exception as exc:  # Pillow signals a bad header with many types
        return {"make": None, "model": None, "software": None, "text": {}, "error": f"{type(exc).__name__}: {exc}"}
    software = str(exif.get(_EXIF_SOFTWARE) or text.get("Software") or "").strip() or None
    make = str(exif.get(_EXIF_MAKE) or "").strip() or None
    model = str(exif.get(_EXIF_MODEL) or "").strip() or None
    return {"make": make, "model": model, "software": software, "text": text, "error": None}


def _c2pa_part(data: bytes, context) -> dict:
    found = c2pa_io.read(data, context)
    if found is None:
        return {"c2pa_state": None, "c2pa_claim": None, "c2pa_failures": [], "c2pa_source_type": None}
    manifest = found["manifest"]
    return {
        "c2pa_state": found["state"],
        "c2pa_claim": c2pa_io.claim(manifest),
        "c2pa_failures": list(found["failures"]),
        "c2pa_source_type": normalise(c2pa_io.source_type(manifest)),
    }


def _signals(c2: dict, packet: dict, tags: dict) -> list[str]:
    signals = []
    if c2["c2pa_state"]:
        signals.append(f"c2pa:{c2['c2pa_state']}:{term(c2['c2pa_source_type']) or 'no source type'}")
    if packet["source_type"]:
        signals.append(f"xmp:{term(packet['source_type'])}")
    if tags["software"]:
        signals.append(f"software:{tags['software'][:80]}")
    signals.extend(f"png-text:{key}" for key in GENERATOR_PNG_KEYS if key in tags["text"])
    if tags["make"] or tags["model"]:
        signals.append(f"camera:{' '.join(v for v in (tags['make'], tags['model']) if v)[:80]}")
    return signals


def read_provenance(data: bytes, context) -> dict:
    """One image's provenance fields; `context` is c2pa_io.reading_context(trust anchors)."""
    c2 = _c2pa_part(data, context)
    packet, tags = xmp.read(data), _exif_and_text(data)
    verified = c2["c2pa_state"] in ("Trusted", "Valid")
    xmp_type = normalise(packet["source_type"])
    synthetic_claims = [
        declares_synthetic(c2["c2pa_source_type"]),
        declares_synthetic(xmp_type),
        generator_software(tags["software"]),
        generator_software(packet["creator_tool"]) and not xmp_type,
        any(key in tags["text"] for key in GENERATOR_PNG_KEYS),
    ]
    camera_claims = [declares_capture(c2["c2pa_source_type"]), declares_capture(xmp_type), bool(tags["make"])]
    if verified:
        provenance = "c2pa-verified"
        generated = declares_synthetic(c2["c2pa_source_type"]) or (
            c2["c2pa_source_type"] is None and any(synthetic_claims)
        )
        source_type = c2["c2pa_source_type"] or xmp_type
    elif any(synthetic_claims):
        provenance, generated = "declared-synthetic", True
        source_type = next((t for t in (c2["c2pa_source_type"], xmp_type) if declares_synthetic(t)), None)
    elif any(camera_claims):
        provenance, generated = "declared-camera", False
        source_type = next((t for t in (c2["c2pa_source_type"], xmp_type) if declares_capture(t)), None)
    else:
        provenance, generated, source_type = "none", False, None
    camera_like = provenance == "declared-camera" or (verified and declares_capture(source_type))
    errors = [e for e in (packet["error"], tags["error"]) if e]
    return {
        "provenance": provenance,
        "declares_generated": bool(generated),
        "ground_truth": "generated" if generated else "camera" if camera_like else None,
        "digital_source_type": source_type,
        "c2pa_state": c2["c2pa_state"],
        "c2pa_trusted": c2["c2pa_state"] == "Trusted",
        "c2pa_claim": c2["c2pa_claim"],
        "c2pa_failures": c2["c2pa_failures"],
        "xmp_source_type": xmp_type,
        "software": tags["software"] or packet["creator_tool"],
        "camera": " ".join(v for v in (tags["make"], tags["model"]) if v) or None,
        "signals": _signals(c2, packet, tags),
        "error": "; ".join(errors) or None,
    }
