"""reviews: TODO docstring."""
