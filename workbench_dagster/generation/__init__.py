"""generation: TODO docstring."""
