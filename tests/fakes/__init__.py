"""Local HTTP servers that speak real provider protocols (127.0.0.1 only), for tests and benchmarks."""
