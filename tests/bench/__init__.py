"""Benchmarks: run all with `make bench`, or one with `python -m tests.bench.bench_<name>`."""
