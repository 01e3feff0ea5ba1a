"""Every entry of a landing folder ends as an image or a failure row with its reason; nothing is followed."""

from __future__ import annotations

import os
import threading

import pytest

from tests.helpers import png, write_config
from workbench_dagster.captioning.call_cache import CallCache
from workbench_dagster.generation.images import make_images
from workbench_dagster.scenario.batches import batch_prompts
from workbench_dagster.scenario.config import load_config
from workbench_dagster.storage.image_store import ImageStore
from workbench_dagster.storage.landing import NotIngested, read_landed_bytes, scan_landing

needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs symlinks and FIFOs")


def _hostile_folder(root):
    folder = root / "drop"
    (folder / "nested").mkdir(parents=True)
    (folder / "top.png").write_bytes(png(1))
    (folder / "nested" / "deep.png").write_bytes(png(2))
    (folder / ".hidden.png").write_bytes(png(3))
    (folder / "notes.txt").write_text("not an image")
    secret = root / "secret.txt"
    secret.write_text("root:x:0:0")
    (folder / "link.png").symlink_to(secret)
    os.mkfifo(folder / "pipe.png")
    return folder, secret


@needs_posix
def test_every_landing_entry_ends_as_an_image_or_a_failure_row_with_its_reason(tmp_path):
    config = load_config(write_config(tmp_path))
    _hostile_folder(config.landing_dir)
    prompts = batch_prompts(config, "drop")
    assert prompts["image_id"].is_unique

    done = threading.Event()  # a FIFO opened for reading would block forever: fail, don't hang
    result = {}

    def run():
        result["images"], _ = make_images(
            config, prompts, ImageStore(tmp_path / "store"), CallCache(tmp_path / "c")
        )
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(30), "make_images blocked on a landing entry"
    images = result["images"]

    by_file = {
        os.path.relpath(f, config.landing_dir / "drop"): r
        for f, r in zip(prompts["source_file"], images.to_dict("records"))
    }
    assert sorted(by_file) == [".hidden.png", "link.png", "nested/deep.png", "notes.txt", "pipe.png", "top.png"]
    assert by_file["top.png"]["status"] == "ok" and by_file["nested/deep.png"]["status"] == "ok"
    assert "nested_deep" in by_file["nested/deep.png"]["image_id"]  # the relative path is in the id
    reasons = {name: row["error"] for name, row in by_file.items() if row["status"] == "failed"}
    assert "symlink not followed" in reasons["link.png"]
    assert "not a regular file" in reasons["pipe.png"]
    assert "hidden name" in reasons[".hidden.png"]
    assert "not a decodable image" in reasons["notes.txt"]
    assert not any("root:x" in str(v) for v in images.to_numpy().ravel())


@needs_posix
def test_landing_hash_covers_only_what_was_read(tmp_path):
    folder, secret = _hostile_folder(tmp_path)
    (before,) = scan_landing(tmp_path)
    refused = {f.name: f.refused for f in before.files if f.refused}
    assert set(refused) == {".hidden.png", "link.png", "pipe.png"}
    assert all(f.sha256 is None for f in before.files if f.refused)

    secret.write_text("root:x:0:0 and a new line")  # the symlink's target changes: no new run
    (after,) = scan_landing(tmp_path)
    assert after.content_hash == before.content_hash

    (folder / "nested" / "deep.png").write_bytes(png(4))  # bytes that were read change: a new run
    (changed,) = scan_landing(tmp_path)
    assert changed.content_hash != before.content_hash


@needs_posix
def test_reader_refuses_links_and_fifos_and_symlinked_batch_folders(tmp_path):
    folder, _ = _hostile_folder(tmp_path / "landing")
    with pytest.raises(NotIngested, match="symlink not followed"):
        read_landed_bytes(folder / "link.png")
    with pytest.raises(NotIngested, match="not a regular file"):
        read_landed_bytes(folder / "pipe.png")
    assert read_landed_bytes(folder / "top.png") == png(1)

    (tmp_path / "landing" / "etc").symlink_to("/etc", target_is_directory=True)
    (tmp_path / "landing" / "only_hidden").mkdir()
    (tmp_path / "landing" / "only_hidden" / ".DS_Store").write_bytes(b"\0")  # still being copied
    assert [b.batch for b in scan_landing(tmp_path / "landing")] == ["drop"]


def test_landing_ids_stay_unique_for_any_name(tmp_path):
    config = load_config(write_config(tmp_path))
    folder = config.landing_dir / "drop"
    (folder / "a").mkdir(parents=True)
    for name in ("写真.png", "a.png", "a.jpg", "a_b.png", "a/b.png"):  # same bytes, names that clean alike
        (folder / name).write_bytes(png(1))
    prompts = batch_prompts(config, "drop")
    assert len(prompts) == 5 and prompts["image_id"].is_unique
