"""storage: TODO docstring."""
