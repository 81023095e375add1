"""Fixtures for the sink tests (the helpers live in sinkhelpers.py)."""

from tests.sinks.sinkhelpers import servers  # noqa: F401  (a fixture)
