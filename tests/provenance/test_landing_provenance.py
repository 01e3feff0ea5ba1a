"""A landing batch that mixes the Workbench's own images with plain PNGs, camera files and files other
generators wrote gets the right provenance for each, and what declares itself generated is flagged."""

from __future__ import annotations

import io

import pandas as pd
from PIL import Image, PngImagePlugin

from tests.helpers import write_config
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.generation.images import make_images
from workbench_dagster.provenance import vocabulary as xmp_vocab
from workbench_dagster.provenance import xmp
from workbench_dagster.provenance.identity import load_or_create
from workbench_dagster.provenance.table import flagged_landing, own_unverified, provenance_rows
from workbench_dagster.provenance.vocabulary import TRAINED_ALGORITHMIC_MEDIA
from workbench_dagster.scenario.batches import batch_prompts
from workbench_dagster.scenario.config import load_config
from workbench_dagster.storage.image_store import ImageStore


def _png(colour, **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def _camera_exif(make="Canon", model="EOS R6") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = make, model, "Firmware 1.8.1"
    return exif


def _relabelled_as_photo(data: bytes) -> bytes:
    """One of the Workbench's images whose XMP someone rewrote to say `digitalCapture`: a valid PNG whose
    manifest no longer matches its bytes."""
    capture = xmp.packet(xmp_vocab.IPTC + "digitalCapture", "Camera", "a photo, honestly")
    chunks = [
        (kind, xmp.PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + capture if kind == b"iTXt" else payload)
        for kind, payload in xmp.png_chunks(data)
    ]
    return xmp.PNG_SIGNATURE + b"".join(xmp._png_chunk(kind, payload) for kind, payload in chunks)


def _landing_files(own: list[bytes]) -> dict[str, bytes]:
    jpeg = io.BytesIO()
    Image.new("RGB", (80, 60), "olive").save(jpeg, format="JPEG", exif=_camera_exif("NIKON", "Z 6"))
    a1111 = PngImagePlugin.PngInfo()
    a1111.add_text("parameters", "a march at night, Steps: 20, Sampler: Euler a, Seed: 1")
    software = PngImagePlugin.PngInfo()
    software.add_text("Software", "ComfyUI")
    declared = xmp.embed(_png("teal"), xmp.packet(TRAINED_ALGORITHMIC_MEDIA, "some app", "made by a model"))
    tampered = _relabelled_as_photo(own[1])
    return {
        "own_1.png": own[0],
        "own_relabelled.png": tampered,
        "plain_1.png": _png("red"),
        "plain_2.png": _png("blue"),
        "phone.png": _png("gray", exif=_camera_exif()),
        "camera.jpg": jpeg.getvalue(),
        "a1111.png": _png("pink", pnginfo=a1111),
        "comfy.png": _png("navy", pnginfo=software),
        "xmp_only.png": declared,
    }


EXPECTED = {  # file -> (provenance, declares_generated, ground_truth, c2pa_state)
    "own_1.png": ("c2pa-verified", True, "generated", "Trusted"),
    "own_relabelled.png": ("declared-synthetic", True, "generated", "Invalid"),
    "plain_1.png": ("none", False, None, None),
    "plain_2.png": ("none", False, None, None),
    "phone.png": ("declared-camera", False, "camera", None),
    "camera.jpg": ("declared-camera", False, "camera", None),
    "a1111.png": ("declared-synthetic", True, "generated", None),
    "comfy.png": ("declared-synthetic", True, "generated", None),
    "xmp_only.png": ("declared-synthetic", True, "generated", None),
}


def test_a_mixed_landing_batch_gets_the_right_provenance_for_each_image(tmp_path):
    config = load_config(write_config(tmp_path, batches=[{"id": "train", "n_images": 2}]))
    store, cache = ImageStore(config.image_store_uri), CallCache(config.cache_dir)
    own, _ = make_images(config, batch_prompts(config, "train"), store, cache)
    folder = config.landing_dir / "march_posts"
    folder.mkdir(parents=True)
    for name, data in _landing_files([store.get(uri) for uri in own["uri"]]).items():
        (folder / name).write_bytes(data)

    prompts = batch_prompts(config, "march_posts")
    images, _ = make_images(config, prompts, store, cache)
    assert set(images["status"]) == {"ok"} and set(images["source"]) == {"folder"}
    table = provenance_rows(images, store.get, load_or_create(config.provenance_identity_dir).ca_pem)

    by_file = dict(zip(prompts["image_id"], prompts["source_file"].map(lambda p: p.rsplit("/", 1)[-1])))
    got = {
        by_file[r.image_id]: (
            r.provenance,
            r.declares_generated,
            *(None if pd.isna(v) else v for v in (r.ground_truth, r.c2pa_state)),
        )
        for r in table.itertuples()
    }
    assert got == EXPECTED
    flagged = {by_file[i] for i in table.loc[table["flagged"], "image_id"]}
    assert flagged == {name for name, (_, generated, _, _) in EXPECTED.items() if generated}
    assert len(flagged_landing(table)) == len(flagged)
    camera = table.set_index("image_id").loc[[i for i, f in by_file.items() if f == "camera.jpg"]].iloc[0]
    assert camera["camera"] == "NIKON Z 6" and "camera:NIKON Z 6" in camera["signals"]
    assert own_unverified(table) == []  # landing rows are not the Workbench's own output


def test_own_generated_batch_reads_back_verified_and_unflagged(tmp_path):
    config = load_config(write_config(tmp_path, batches=[{"id": "train", "n_images": 3}]))
    store, cache = ImageStore(config.image_store_uri), CallCache(config.cache_dir)
    images, _ = make_images(config, batch_prompts(config, "train"), store, cache)
    table = provenance_rows(images, store.get, load_or_create(config.provenance_identity_dir).ca_pem)
    assert set(table["provenance"]) == {"c2pa-verified"} and set(table["c2pa_state"]) == {"Trusted"}
    assert not table["flagged"].any() and own_unverified(table) == []
    # read without the Workbench's CA, the same bytes are intact but not trusted: the check says so
    untrusted = provenance_rows(images, store.get, None)
    assert set(untrusted["c2pa_state"]) == {"Valid"} and len(own_unverified(untrusted)) == 3


def test_an_image_that_failed_to_store_keeps_its_row(tmp_path):
    images = pd.DataFrame(
        [
            {
                "image_id": "x",
                "batch": "b",
                "sha256": None,
                "uri": None,
                "source": "folder",
                "status": "failed",
                "error": "x.png: not a decodable image",
            }
        ]
    )
    table = provenance_rows(images, lambda uri: b"", None)
    assert list(table["provenance"]) == ["none"] and "not stored" in table["error"].iloc[0]
