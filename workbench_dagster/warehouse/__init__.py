"""warehouse: TODO docstring."""
