"""The landing sensor and the nightly schedule."""
