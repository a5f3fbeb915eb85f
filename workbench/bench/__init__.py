"""Benchmarks behind ``wb bench``: each returns a dict of measured numbers (printed by the CLI)."""
