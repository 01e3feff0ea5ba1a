"""The XMP reader takes the source type however a writer spelled it, and a broken packet is a recorded
error, never a crash and never a verdict."""

from __future__ import annotations

import io

from PIL import Image

from workbench_dagster.provenance import c2pa_io, xmp
from workbench_dagster.provenance.reader import read_provenance
from workbench_dagster.provenance.vocabulary import IPTC, normalise

ELEMENT_FORM = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
    "<Iptc4xmpExt:DigitalSourceType>{value}</Iptc4xmpExt:DigitalSourceType>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _jpeg_with(packet: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, format="JPEG")
    return xmp.embed(buffer.getvalue(), packet)


def test_element_form_and_every_spelling_of_a_term_are_read():
    context = c2pa_io.reading_context(None)
    for value in (IPTC + "digitalCapture", "digitalCapture", "http://c2pa.org/digitalsourcetype/digitalCapture"):
        verdict = read_provenance(_jpeg_with(ELEMENT_FORM.format(value=value).encode()), context)
        assert verdict["xmp_source_type"] == IPTC + "digitalCapture"
        assert verdict["provenance"] == "declared-camera" and verdict["ground_truth"] == "camera"
    assert normalise("trainedAlgorithmicMedia") == IPTC + "trainedAlgorithmicMedia"


def test_a_broken_packet_is_an_error_not_a_verdict():
    verdict = read_provenance(_jpeg_with(b"<x:xmpmeta><unclosed></x:xmpmeta>"), c2pa_io.reading_context(None))
    assert verdict["provenance"] == "none" and "XMP does not parse" in verdict["error"]


def test_bytes_that_are_no_image_still_get_a_row():
    verdict = read_provenance(b"not an image at all", c2pa_io.reading_context(None))
    assert verdict["provenance"] == "none" and verdict["error"]
