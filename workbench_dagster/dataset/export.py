"""Writing the dataset others download: a folder and a zip of it, per scenario.

```
<name>/
  README.md              dataset card: license and the `datasets` config (load_dataset(<folder>))
  datasheet.md           scenario, generators, seeds, known shortcuts, license, quality and balance
  croissant.json         Croissant 1.0 JSON-LD metadata
  dataset.parquet        one row per image: prompt, spec, reference labels, every model's caption,
                         comments, quality scores, provenance (captions and comments nested)
  captions.parquet       the same captions, one row per (image, model)
  comments.parquet       the same comments, one row per comment
  images/train/          the baseline's training batch: image files as stored (final bytes, checked
                         against their sha256) and metadata.parquet, its rows for `datasets`' imagefolder
  images/test/           every other batch, the same way
<name>.zip               the folder, zipped (fixed timestamps, so the same export zips the same)
```

The folder is built under a temporary name and renamed into place (the old one removed after), so a
reader never meets half an export; on an object store each file is uploaded after the local build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from workbench_dagster.dataset.records import CAPTION_FIELDS, COMMENT_FIELDS
from workbench_dagster.storage.atomic import write_bytes_atomic

ZIP_TIME = (2000, 1, 1, 0, 0, 0)


class ExportError(ValueError):
    """An image whose bytes no longer match the sha256 its row records: the export would lie."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "uri"}


def _write_images(folder: Path, records: list[dict], read) -> None:
    """Each record's image file at its `file_name` (images/<split>/...), checked against its sha256."""
    for record in records:
        data = read(record["uri"])
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise ExportError(
                f"{record['uri']}: the stored bytes of {record['image_id']} do not match its sha256 "
                f"{record['sha256']} in synthetic_images; re-materialize synthetic_images for {record['batch']}"
            )
        path = folder / record["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _write_split_metadata(folder: Path, table: pa.Table) -> None:
    """images/<split>/metadata.parquet: the split's rows of dataset.parquet with file names relative to
    the split's folder. Every split shares the one schema of the whole table: `datasets` refuses splits
    whose metadata types differ, and a column that is null in one split (a counterfactual batch's pair
    columns in train) would otherwise be typed `null` there and `string` in the other."""
    splits = table.column("split").to_pylist()
    names = [name.rsplit("/", 1)[-1] for name in table.column("file_name").to_pylist()]
    local = table.set_column(table.schema.get_field_index("file_name"), "file_name", pa.array(names, pa.string()))
    for split in dict.fromkeys(splits):
        rows = local.filter(pa.array([s == split for s in splits]))
        pq.write_table(rows, folder / "images" / split / "metadata.parquet")


def _flat_table(records: list[dict], nested: str, fields: list[str]) -> pa.Table:
    rows = [
        {"image_id": r["image_id"], "batch": r["batch"], **{f: item.get(f) for f in fields}}
        for r in records
        for item in r[nested]
    ]
    if not rows:  # the columns still exist, typed as strings
        return pa.table({c: pa.array([], pa.string()) for c in ["image_id", "batch", *fields]})
    return pa.Table.from_pylist(rows)


def write_tables(folder: Path, records: list[dict]) -> None:
    table = pa.Table.from_pylist([_public(r) for r in records])
    pq.write_table(table, folder / "dataset.parquet")
    if records:
        _write_split_metadata(folder, table)
    pq.write_table(_flat_table(records, "captions", CAPTION_FIELDS), folder / "captions.parquet")
    pq.write_table(_flat_table(records, "comments", COMMENT_FIELDS), folder / "comments.parquet")


def zip_folder(folder: Path, name: str, target: Path) -> int:
    """Writes the folder's files under `<name>/` into the zip file `target`, in name order with a fixed
    timestamp (PNG and JPEG stored as they are, already compressed; the rest deflated), file by file so
    memory holds one image at a time. Returns the zip's size in bytes."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{name}/{path.relative_to(folder).as_posix()}", ZIP_TIME)
            compressed = path.suffix.lower() not in {".png", ".jpg", ".jpeg", ".webp"}
            info.compress_type = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return target.stat().st_size


def _publish_local(build: Path, dest: Path) -> None:
    old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
    if dest.exists():
        dest.rename(old)
    build.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def _publish_remote(build: Path, dest) -> None:
    """Every file uploaded whole (an object-store PUT is all-or-nothing); files of an older export that
    this one no longer has stay until removed."""
    for path in sorted(p for p in build.rglob("*") if p.is_file()):
        write_bytes_atomic(dest / path.relative_to(build).as_posix(), path.read_bytes())


def write_export(dest, records: list[dict], read, documents) -> dict:
    """Writes the folder `dest` (a local Path or a UPath) and `dest` + `.zip`; returns their paths and the
    sha256 of each file. `documents(folder)` writes the files that describe the others (croissant.json,
    datasheet.md, README.md), after the images and tables exist, so it can hash them."""
    local = isinstance(dest, Path)
    if local:
        dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent if local else None))
    build, zipped = scratch / dest.name, scratch / f"{dest.name}.zip"
    try:
        build.mkdir()
        _write_images(build, records, read)
        write_tables(build, records)
        documents(build)
        files = {p.relative_to(build).as_posix(): sha256_file(p) for p in sorted(build.rglob("*")) if p.is_file()}
        size = zip_folder(build, dest.name, zipped)
        zip_path = dest.with_name(dest.name + ".zip")
        if local:
            os.replace(zipped, zip_path)
            _publish_local(build, dest)
        else:
            write_bytes_atomic(UPath(str(zip_path)), zipped.read_bytes())
            _publish_remote(build, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"folder": str(dest), "zip": str(zip_path), "zip_bytes": size, "files": files}
