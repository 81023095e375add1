"""Lab fleet fixtures for every test under tests/lab/ (see fixtures.py and docs/lab.md)."""

from .fixtures import lab, lab_cron, lab_inventory  # noqa: F401
