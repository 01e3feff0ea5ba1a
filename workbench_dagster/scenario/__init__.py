"""scenario: TODO docstring."""
