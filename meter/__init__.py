"""Meters: a simulated smart electricity meter (CPython side)."""

__version__ = "0.1.0"
# The day file's data model (docs/day-file.md); bump the major on any incompatible change.
DATA_MODEL_VERSION = "2.0.0"
# The load model's version: a change that alters any reading for the same config and seed bumps it.
MODEL_VERSION = "1.0.0"
