"""Storage shared by every stage: content-addressed images, atomic file writes, media decoding and the landing scan.

Local folders and s3:// alike, through universal-pathlib. Used by assets/generation.py, the IO manager and the landing sensor.
"""
