"""Croissant 1.0 metadata (JSON-LD) of an export, so dataset search engines and loaders (mlcroissant,
TFDS, the Hugging Face hub) read what the files hold without opening them.

Written from the files themselves: every column of the Parquet tables becomes a field typed from
its Arrow type, every file carries its sha256. The record sets: `images` (dataset.parquet, keyed by
image_id, its nested captions and comments left to the two flat tables), `captions` and `comments`
(each row pointing at its image), and `image_files` (the PNG files themselves).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
# The Croissant 1.0 @context, as the specification gives it.
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
MIME = {"jpg": "image/jpeg", "tif": "image/tiff"}
TABLES = {
    "images": ("dataset.parquet", "One row per image: prompt, spec, reference labels, quality, provenance."),
    "captions": ("captions.parquet", "One row per image and caption model: its labels and caption."),
    "comments": ("comments.parquet", "One row per synthetic social-media comment on an image."),
}


def data_type(arrow: pa.DataType) -> tuple[str, bool]:
    """(schema.org type, repeated) of an Arrow column; lists of words are repeated text."""
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        inner, _ = data_type(arrow.value_type)
        return inner, True
    if pa.types.is_boolean(arrow):
        return "sc:Boolean", False
    if pa.types.is_integer(arrow):
        return "sc:Integer", False
    if pa.types.is_floating(arrow):
        return "sc:Float", False
    return "sc:Text", False


def describable(arrow: pa.DataType) -> bool:
    """Nested records (captions and comments inside dataset.parquet) are described by their own tables."""
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return not pa.types.is_struct(arrow.value_type) and not pa.types.is_null(arrow.value_type)
    return not pa.types.is_struct(arrow)


def _fields(record_set: str, file_id: str, schema: pa.Schema) -> list[dict]:
    fields = []
    for column in schema:
        if not describable(column.type):
            continue
        kind, repeated = data_type(column.type)
        field = {
            "@type": "cr:Field",
            "@id": f"{record_set}/{column.name}",
            "name": column.name,
            "dataType": kind,
            "source": {"fileObject": {"@id": file_id}, "extract": {"column": column.name}},
        }
        if repeated:
            field["repeated"] = True
        if record_set != "images" and column.name == "image_id":
            field["references"] = {"field": {"@id": "images/image_id"}}
        fields.append(field)
    return fields


def _distribution(files: dict[str, str]) -> list[dict]:
    objects = [
        {
            "@type": "cr:FileObject",
            "@id": name,
            "name": name,
            "contentUrl": name,
            "encodingFormat": "application/x-parquet",
            "sha256": files[name],
        }
        for name, _ in TABLES.values()
    ]
    extensions = sorted({n.rsplit(".", 1)[-1] for n in files if n.startswith("images/")} - {"parquet"})
    formats = [MIME.get(ext, f"image/{ext}") for ext in extensions] or ["image/png"]
    return [
        *objects,
        {
            "@type": "cr:FileSet",
            "@id": "image-files",
            "name": "image-files",
            "description": "The image files, as the Workbench stored them (final bytes).",
            "encodingFormat": formats[0] if len(formats) == 1 else formats,
            "includes": [f"images/*/*.{ext}" for ext in extensions] or ["images/*/*.png"],
        },
    ]


def _image_files_record_set() -> dict:
    source = {"fileSet": {"@id": "image-files"}}
    return {
        "@type": "cr:RecordSet",
        "@id": "image_files",
        "name": "image_files",
        "description": "The image files: their path within the export and their content.",
        "field": [
            {
                "@type": "cr:Field",
                "@id": "image_files/file_name",
                "name": "file_name",
                "dataType": "sc:Text",
                "source": {**source, "extract": {"fileProperty": "filepath"}},
            },
            {
                "@type": "cr:Field",
                "@id": "image_files/content",
                "name": "content",
                "dataType": "sc:ImageObject",
                "source": {**source, "extract": {"fileProperty": "content"}},
            },
        ],
    }


def croissant_metadata(folder: Path, files: dict[str, str], about: dict) -> dict:
    """The JSON-LD of the export in `folder`. `files`: relative path -> sha256 of every file written so
    far; `about`: name, description, license, version, creator, keywords, citation, and the
    responsible-AI notes (data_collection, data_biases, data_use_cases)."""
    record_sets = []
    for record_set, (name, description) in TABLES.items():
        schema = pq.read_schema(folder / name)
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": record_set,
                "name": record_set,
                "description": description,
                **({"key": {"@id": "images/image_id"}} if record_set == "images" else {}),
                "field": _fields(record_set, name, schema),
            }
        )
    record_sets.append(_image_files_record_set())
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": about["name"],
        "description": about["description"],
        "license": about["license"],
        "url": about["url"],
        "version": about["version"],
        "datePublished": about["date_published"],
        "creator": {"@type": "sc:Organization", "name": about["creator"]},
        "keywords": about["keywords"],
        "citeAs": about["citation"],
        "isLiveDataset": False,
        "rai:dataCollection": about["data_collection"],
        "rai:dataBiases": about["data_biases"],
        "rai:dataUseCases": about["data_use_cases"],
        "distribution": _distribution(files),
        "recordSet": record_sets,
    }
