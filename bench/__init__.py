"""Benchmarks. Each module has ``main()`` and writes its block of docs/benchmarks.md."""
