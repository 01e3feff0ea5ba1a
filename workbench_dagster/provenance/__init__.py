"""Provenance of images: what the Workbench writes into every image it generates, what it reads from
every image that lands, and a detector for images that carry no word about themselves.

- `vocabulary`: the IPTC digital source types and the software names that declare generated media;
- `identity`: the local test signing identity (a CA and a signer certificate), made on first use;
- `xmp`: the XMP packet with the IPTC digital source type, embedded into PNG and JPEG;
- `writer`: XMP plus a signed C2PA manifest, the final bytes the image store hashes;
- `reader`: C2PA (signature validated), XMP and EXIF/PNG text read back into one verdict;
- `table`: one provenance row per stored image; `detector`: the `ai_image_detector` classifier.
"""
