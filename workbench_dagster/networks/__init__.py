"""networks: TODO docstring."""
