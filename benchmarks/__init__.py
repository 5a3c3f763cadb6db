"""Benchmarks: ratios measured side by side in one run (the machine is shared
and noisy), never timing assertions in tests. Run with `make bench` or
`.venv/bin/python -m benchmarks.<name>`."""
