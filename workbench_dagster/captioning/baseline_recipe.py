"""The baseline CNN's recipe version, apart from its torch code: the code location names it in code
versions, and loading the location (every run worker does) should not import torch."""

# Bumped whenever the architecture or the training recipe changes, so old checkpoints stop matching.
RECIPE_VERSION = 1
