"""The load test: `make load` (see run.py)."""
