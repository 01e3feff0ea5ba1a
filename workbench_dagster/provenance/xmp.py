"""The XMP packet that says what an image is, in the file itself: embedded, stripped and read.

Writing: a PNG gets an `iTXt` chunk with the keyword `XML:com.adobe.xmp` right after `IHDR`, a JPEG
an APP1 segment with the XMP namespace header right after SOI (and JFIF's APP0), as the XMP
specification (part 3) places them. The packet holds `Iptc4xmpExt:DigitalSourceType` (the IPTC
term), `xmp:CreatorTool` and `dc:description`.

Reading takes the packet from those places, or, in any other format, by scanning for the
`<x:xmpmeta` element, which is how the XMP specification lets a reader find a packet it does not
know the container of. The packet is parsed with the standard library's expat, which does not fetch
external entities and refuses entity expansion bombs; packets over 1 MiB are not parsed.
"""

from __future__ import annotations

import struct
import zlib
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEY = b"XML:com.adobe.xmp"
PNG_C2PA_CHUNK = b"caBX"
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
MAX_PACKET = 1 << 20

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def packet(source_type: str, creator_tool: str, description: str) -> bytes:
    """A complete XMP packet (with the `xpacket` wrapper) declaring the digital source type."""
    body = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{rdf}">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{iptc}" xmlns:xmp="{xmp}" xmlns:dc="{dc}" '
        "Iptc4xmpExt:DigitalSourceType={source} xmp:CreatorTool={tool}>"
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:description>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).format(
        rdf=NS["rdf"],
        iptc=NS["Iptc4xmpExt"],
        xmp=NS["xmp"],
        dc=NS["dc"],
        source=quoteattr(source_type),
        tool=quoteattr(creator_tool),
        text=escape(description),
    )
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' + body + '<?xpacket end="w"?>').encode()


# --- PNG -------------------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk; a truncated or non-PNG input raises ValueError."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG: signature missing")
    chunks, offset = [], len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise ValueError(f"PNG chunk {kind!r} at byte {offset} runs past the end of the file")
        chunks.append((kind, data[offset + 8 : offset + 8 + length]))
        offset = end
        if kind == b"IEND":
            break
    return chunks


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _is_png_xmp(kind: bytes, payload: bytes) -> bool:
    return kind == b"iTXt" and payload.startswith(PNG_XMP_KEY + b"\x00")


def _png_itxt_text(payload: bytes) -> bytes:
    """The text of an iTXt chunk: keyword, flag, method, language, translated keyword, then text."""
    _, rest = payload.split(b"\x00", 1)
    compressed, rest = rest[0], rest[2:]
    _, rest = rest.split(b"\x00", 1)  # language tag
    _, text = rest.split(b"\x00", 1)  # translated keyword
    return zlib.decompress(text) if compressed else text


def _png_with(data: bytes, xmp: bytes | None) -> bytes:
    """The PNG without any XMP or C2PA chunk, with `xmp` (if given) right after IHDR."""
    out = [PNG_SIGNATURE]
    for kind, payload in png_chunks(data):
        if _is_png_xmp(kind, payload) or kind == PNG_C2PA_CHUNK:
            continue
        out.append(_png_chunk(kind, payload))
        if kind == b"IHDR" and xmp is not None:
            out.append(_png_chunk(b"iTXt", PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + xmp))
    return b"".join(out)


# --- JPEG ------------------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """([(marker, payload)] up to the start of scan, the rest from SOS on)."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG: SOI missing")
    segments, offset = [], 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            raise ValueError(f"JPEG: no marker at byte {offset}")
        marker = data[offset + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return segments, data[offset:]
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        segments.append((marker, data[offset + 4 : offset + 2 + length]))
        offset += 2 + length
    raise ValueError("JPEG: no start of scan")


def _is_jpeg_provenance(marker: int, payload: bytes) -> bool:
    xmp = marker == 0xE1 and payload.startswith(JPEG_XMP_HEADER)
    jumbf = marker == 0xEB and payload[:2] == b"JP"  # APP11 JUMBF: where C2PA lives
    return xmp or jumbf


def _jpeg_with(data: bytes, xmp: bytes | None) -> bytes:
    segments, scan = jpeg_segments(data)
    kept = [(m, p) for m, p in segments if not _is_jpeg_provenance(m, p)]
    at = 1 if kept and kept[0][0] == 0xE0 else 0  # after JFIF's APP0
    if xmp is not None:
        payload = JPEG_XMP_HEADER + xmp
        if len(payload) + 2 > 0xFFFF:
            raise ValueError("XMP packet too large for one JPEG APP1 segment")
        kept.insert(at, (0xE1, payload))
    body = b"".join(bytes([0xFF, m]) + struct.pack(">H", len(p) + 2) + p for m, p in kept)
    return b"\xff\xd8" + body + scan


# --- both ------------------------------------------------------------------------------------------


def embed(data: bytes, xmp: bytes) -> bytes:
    """The image with `xmp` as its only XMP packet and no C2PA store (one is signed in after)."""
    if data.startswith(PNG_SIGNATURE):
        return _png_with(data, xmp)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_with(data, xmp)
    raise ValueError("XMP is embedded into PNG or JPEG only")


def strip(data: bytes) -> bytes:
    """The image without XMP or C2PA: what a re-stamp starts from."""
    if data.startswith(PNG_SIGNATURE):
        return _png_with(data, None)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_with(data, None)
    return data


def find_packet(data: bytes) -> bytes | None:
    """The XMP packet of an image, or None; malformed containers fall back to a scan."""
    try:
        if data.startswith(PNG_SIGNATURE):
            for kind, payload in png_chunks(data):
                if _is_png_xmp(kind, payload):
                    return _png_itxt_text(payload)
        elif data.startswith(b"\xff\xd8"):
            for marker, payload in jpeg_segments(data)[0]:
                if marker == 0xE1 and payload.startswith(JPEG_XMP_HEADER):
                    return payload[len(JPEG_XMP_HEADER) :]
    except (ValueError, zlib.error, IndexError):
        pass
    start = data.find(b"<x:xmpmeta")
    end = data.find(b"</x:xmpmeta>", start)
    return data[start : end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else None


def _value(description: ElementTree.Element, ns: str, name: str) -> str | None:
    """A property written as an attribute, as element text, or as an element's rdf:resource."""
    tag = f"{{{NS[ns]}}}{name}"
    if description.get(tag):
        return description.get(tag)
    element = description.find(tag)
    if element is None:
        return None
    resource = element.get(f"{{{NS['rdf']}}}resource")
    text = (element.text or "").strip() or None
    if text is None:
        li = element.find(f".//{{{NS['rdf']}}}li")
        text = (li.text or "").strip() or None if li is not None else None
    return resource or text


def read(data: bytes) -> dict:
    """{"source_type", "creator_tool", "error"} from the image's XMP; values None when absent."""
    found = {"source_type": None, "creator_tool": None, "error": None}
    raw = find_packet(data)
    if raw is None:
        return found
    if len(raw) > MAX_PACKET:
        return {**found, "error": f"XMP packet of {len(raw)} bytes not parsed (over {MAX_PACKET})"}
    start = raw.find(b"<x:xmpmeta")
    end = raw.rfind(b"</x:xmpmeta>")
    body = raw[start : end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else raw
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        return {**found, "error": f"XMP does not parse: {exc}"}
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        found["source_type"] = found["source_type"] or _value(description, "Iptc4xmpExt", "DigitalSourceType")
        found["creator_tool"] = found["creator_tool"] or _value(description, "xmp", "CreatorTool")
    return found
