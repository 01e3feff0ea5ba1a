"""The two c2pa-python calls the Workbench makes, with the settings that keep them offline.

Signing: no thumbnail in the manifest (a few hundred images per demo; the image is its own
thumbnail) and no timestamp authority (there is no network). Reading: no OCSP and no remote
manifest fetch, and the Workbench's own CA as the one trust anchor, so its own images read back
as `Trusted`, another signer's intact manifest as `Valid` (signature and hashes good, signer not
known) and altered bytes as `Invalid`.
"""

from __future__ import annotations

import io
import json

OFFLINE = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
MIME = {"png": "image/png", "jpg": "image/jpeg"}
ASSERTION = "org.aiworkbench.generation"  # the custom assertion: reverse-domain, as C2PA asks


def signing_context():
    import c2pa

    return c2pa.Context(
        settings=c2pa.Settings.from_dict({**OFFLINE, "builder": {"thumbnail": {"enabled": False}}})
    )


def signer(chain_pem: bytes, key_pem: bytes):
    import c2pa

    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ED25519, chain_pem, key_pem, None)
    return c2pa.Signer.from_info(info)


def sign(context, signer_, manifest: dict, mime: str, data: bytes) -> bytes:
    import c2pa

    builder = c2pa.Builder(manifest, context=context)
    out = io.BytesIO()
    builder.sign(signer_, mime, io.BytesIO(data), out)
    return out.getvalue()


def reading_context(trust_anchors_pem: bytes | None):
    import c2pa

    settings = dict(OFFLINE)
    if trust_anchors_pem:
        settings["trust"] = {"trust_anchors": trust_anchors_pem.decode()}
    return c2pa.Context(settings=c2pa.Settings.from_dict(settings))


def _codes(results: dict | None, kind: str) -> list[str]:
    active = (results or {}).get("activeManifest") or {}
    return [entry.get("code", "") for entry in active.get(kind, [])]


def read(data: bytes, context) -> dict | None:
    """None when the image carries no manifest; else the active manifest, its validation state
    (Trusted, Valid or Invalid) and the failure codes. A store that cannot be parsed at all is
    reported as Invalid with the reason, never as "no manifest"."""
    import c2pa

    try:
        reader = c2pa.Reader.try_create(None, io.BytesIO(data), None, context)
    except c2pa.C2paError as exc:
        return {"manifest": None, "state": "Invalid", "failures": [f"unreadable manifest store: {exc}"]}
    if reader is None:
        return None
    with reader:
        try:
            manifest = reader.get_active_manifest()
        except KeyError as exc:
            manifest, state = None, "Invalid"
            failures = [f"no active manifest: {exc}"]
        else:
            state = reader.get_validation_state() or "Invalid"
            failures = _codes(reader.get_validation_results(), "failure")
    return {"manifest": manifest, "state": state, "failures": failures}


def source_type(manifest: dict | None) -> str | None:
    """The digitalSourceType of the manifest's `c2pa.created` (or first) action."""
    for assertion in (manifest or {}).get("assertions", []):
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        actions = (assertion.get("data") or {}).get("actions", [])
        for action in sorted(actions, key=lambda a: a.get("action") != "c2pa.created"):
            if action.get("digitalSourceType"):
                return action["digitalSourceType"]
    return None


def claim(manifest: dict | None) -> str | None:
    """What the manifest says, as compact JSON: its generator, signer and Workbench assertion."""
    if not manifest:
        return None
    generation = next((a.get("data") for a in manifest.get("assertions", []) if a.get("label") == ASSERTION), None)
    summary = {
        "claim_generator": [g.get("name") for g in manifest.get("claim_generator_info", [])],
        "signer": (manifest.get("signature_info") or {}).get("common_name"),
        "issuer": (manifest.get("signature_info") or {}).get("issuer"),
        "digital_source_type": source_type(manifest),
        "generation": generation,
    }
    return json.dumps(summary, sort_keys=True)
