"""captioning: TODO docstring."""
