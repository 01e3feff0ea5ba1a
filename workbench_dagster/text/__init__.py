"""text: TODO docstring."""
