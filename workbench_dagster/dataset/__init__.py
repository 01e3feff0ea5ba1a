"""The dataset stage's core: image quality, balance against the scenario's targets, and the export
others download (Parquet, a Hugging Face imagefolder, Croissant metadata, a datasheet)."""

# Bump when a change alters what the dataset stage writes (metrics, targets, the export's layout), so its
# assets run again: their inputs and config are unchanged by a change of this code.
DATASET_VERSION = "dataset-v3"
