"""evaluation: TODO docstring."""
