"""Benchmarks of the simulator (see bench/README.md for the method and the results)."""
