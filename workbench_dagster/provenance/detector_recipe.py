"""The AI-image detector's recipe version, apart from its torch code: the code location names it in
code versions, and loading the location (every run worker does) should not import torch."""

# Bumped whenever the detector's architecture or training recipe changes.
RECIPE_VERSION = 1
