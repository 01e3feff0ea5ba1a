"""Every image the Workbench generates carries its provenance in the file: the IPTC source type in XMP
and a C2PA manifest whose signature validates against the local test identity; altered bytes fail."""

from __future__ import annotations

import json

import pytest

from tests.helpers import write_config
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.generation.images import make_images
from workbench_dagster.generation.procedural import RENDERER_VERSION
from workbench_dagster.provenance import c2pa_io, xmp
from workbench_dagster.provenance.identity import load_or_create
from workbench_dagster.provenance.reader import read_provenance
from workbench_dagster.provenance.vocabulary import ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA
from workbench_dagster.provenance.writer import Claim, ProvenanceWriter
from workbench_dagster.scenario.batches import batch_prompts
from workbench_dagster.scenario.config import load_config
from workbench_dagster.storage.image_store import ImageStore, sha256_bytes


@pytest.fixture
def generated(tmp_path):
    config = load_config(write_config(tmp_path, batches=[{"id": "train", "n_images": 4}]))
    store, cache = ImageStore(config.image_store_uri), CallCache(config.cache_dir)
    images, rendered = make_images(config, batch_prompts(config, "train"), store, cache)
    assert rendered == 4 and set(images["status"]) == {"ok"}
    return config, store, cache, images


def test_generated_images_carry_a_manifest_that_validates(generated):
    config, store, _, images = generated
    identity = load_or_create(config.provenance_identity_dir)
    assert (config.provenance_identity_dir / "signer.key").stat().st_mode & 0o077 == 0
    context = c2pa_io.reading_context(identity.ca_pem)
    prompts = batch_prompts(config, "train").set_index("image_id")
    for row in images.itertuples():
        data = store.get(row.uri)
        assert sha256_bytes(data) == row.sha256  # the store's hash is of the final, stamped bytes
        found = c2pa_io.read(data, context)
        assert found["state"] == "Trusted" and found["failures"] == []
        claim = json.loads(c2pa_io.claim(found["manifest"]))
        assert claim["digital_source_type"] == ALGORITHMIC_MEDIA
        assert claim["generation"] == {
            "generator": "procedural",
            "model": RENDERER_VERSION,
            "prompt_id": row.image_id,
            "seed": int(prompts.loc[row.image_id, "seed"]),
            "scenario": config.scenario_data.id,
            "batch": "train",
            "provenance_version": "prov-v1",
        }
        assert xmp.read(data)["source_type"] == ALGORITHMIC_MEDIA
        assert read_provenance(data, context)["provenance"] == "c2pa-verified"


def test_tampered_pixels_fail_validation(generated):
    config, store, _, images = generated
    context = c2pa_io.reading_context(load_or_create(config.provenance_identity_dir).ca_pem)
    data = bytearray(store.get(images["uri"].iloc[0]))
    at = data.find(b"IDAT") + 40
    data[at] ^= 0xFF
    found = c2pa_io.read(bytes(data), context)
    assert found["state"] == "Invalid"
    assert any("dataHash.mismatch" in code for code in found["failures"])
    verdict = read_provenance(bytes(data), context)
    # a manifest that does not validate is still a declaration: synthetic, never a photo
    assert verdict["provenance"] == "declared-synthetic" and verdict["declares_generated"]


def test_another_signer_is_valid_but_not_trusted(tmp_path, generated):
    config, store, _, images = generated
    stranger = load_or_create(tmp_path / "stranger", "stranger")
    found = c2pa_io.read(store.get(images["uri"].iloc[0]), c2pa_io.reading_context(stranger.ca_pem))
    assert found["state"] == "Valid"  # intact, signer unknown to this reader


def test_cache_hits_keep_the_stamped_bytes_and_old_cache_entries_are_restamped(generated):
    config, store, cache, images = generated
    prompts = batch_prompts(config, "train")
    again, rendered = make_images(config, prompts, store, cache)
    assert rendered == 0 and list(again["sha256"]) == list(images["sha256"])
    # an entry cached before provenance existed: its stored pixels are stamped, nothing re-rendered
    from workbench_dagster.generation.images import _render_key

    row = prompts.iloc[0].to_dict()
    bare = xmp.strip(store.get(images["uri"].iloc[0]))
    digest, uri, _ = store.put(bare, "png")
    cache.put(_render_key(config, row), {"sha256": digest, "uri": uri, "width": 320, "height": 240})
    restamped, rendered = make_images(config, prompts, store, cache)
    assert rendered == 0 and restamped["sha256"].iloc[0] != digest
    context = c2pa_io.reading_context(load_or_create(config.provenance_identity_dir).ca_pem)
    assert c2pa_io.read(store.get(restamped["uri"].iloc[0]), context)["state"] == "Trusted"


def test_diffusion_backends_declare_trained_algorithmic_media_in_png_and_jpeg(tmp_path):
    import io

    from PIL import Image

    writer = ProvenanceWriter.at(tmp_path / "identity")
    context = c2pa_io.reading_context(writer.identity.ca_pem)
    claim = Claim("diffusers", "stabilityai/sdxl-turbo", "b001_0003", 5, "atropia", "b001")
    for fmt in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        Image.new("RGB", (96, 64), (20, 120, 200)).save(buffer, format=fmt)
        stamped = writer.stamp(buffer.getvalue(), claim)
        assert Image.open(io.BytesIO(stamped)).format == fmt
        verdict = read_provenance(stamped, context)
        assert verdict["c2pa_state"] == "Trusted" and verdict["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA
        assert verdict["xmp_source_type"] == TRAINED_ALGORITHMIC_MEDIA


def test_identity_is_made_once_and_reused(tmp_path):
    first = load_or_create(tmp_path / "id")
    assert load_or_create(tmp_path / "id") == first
    (tmp_path / "id" / "signer.key").unlink()
    with pytest.raises(FileNotFoundError, match="signer.key"):
        load_or_create(tmp_path / "id")


def test_the_same_pixels_and_claim_get_the_same_stamped_file(generated):
    """c2pa salts its hashes at random, so a stamp is remembered: rendering again changes no byte."""
    from workbench_dagster.provenance.stamping import Stamper

    config, store, cache, _ = generated
    row = batch_prompts(config, "train").iloc[0].to_dict()
    pixels = xmp.strip(
        store.get(make_images(config, batch_prompts(config, "train"), store, cache)[0]["uri"].iloc[0])
    )
    first = Stamper(config, cache, store)(row, pixels)
    assert Stamper(config, cache, store)(row, pixels) == first  # a new stamper, as in the next run
    assert Stamper(config, cache, store)({**row, "seed": 1}, pixels) != first  # another claim: another stamp
    assert Stamper(config)(row, pixels) != first  # without the cache, c2pa's random salt shows
