"""The landing area on an object store (moto's S3 server): prefixes are batch folders, hidden or too
deep objects are refused rows, new bytes change the folder's hash, and a new drop is seen at once."""

from __future__ import annotations

from upath import UPath

from workbench_dagster.storage.landing import MAX_DEPTH, find_landing_folder, read_landed_bytes, scan_landing


def test_prefixes_become_batches_with_every_object_a_row(s3):
    _, bucket = s3
    landing = UPath(f"s3://{bucket}/landing-test/landing")
    (landing / "drop-a" / "a.png").write_bytes(b"a")
    (landing / "drop-a" / "sub" / "b.png").write_bytes(b"b")
    (landing / "drop-a" / ".partial.png").write_bytes(b"x")
    (landing / "drop-a" / "/".join(f"d{i}" for i in range(MAX_DEPTH)) / "deep.png").write_bytes(b"d")
    (landing / ".hidden-drop" / "c.png").write_bytes(b"c")

    (batch,) = scan_landing(landing)
    assert batch.batch == "drop-a"
    files = {f.name: f for f in batch.files}
    assert files["a.png"].sha256 and files["sub/b.png"].sha256
    assert "hidden name" in files[".partial.png"].refused
    assert "deeper than" in next(f.refused for n, f in files.items() if n.endswith("deep.png"))
    assert read_landed_bytes(str(files["sub/b.png"].path)) == b"b"
    assert find_landing_folder(landing, "drop-a") is not None
    assert batch.last_change() > 0

    before = batch.content_hash
    (landing / "drop-a" / "a.png").write_bytes(b"a, again with new bytes")
    (landing / "drop-b" / "e.png").write_bytes(b"e")
    after = {b.batch: b for b in scan_landing(landing)}
    assert set(after) == {"drop-a", "drop-b"}  # a drop after the first scan is seen by the next
    assert after["drop-a"].content_hash != before
