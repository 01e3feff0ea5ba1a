"""The dataset stage's core: image quality, balance against the scenario's targets, and the export
others download (Parquet, a Hugging Face imagefolder, Croissant metadata, a datasheet)."""
