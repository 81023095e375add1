"""Prints the hardening suites' fuzz counters (fuzzcount.py) at the end of the run
(docs/reliability.md quotes them)."""

from __future__ import annotations

from tests.hardening.fuzzcount import FUZZ


def pytest_terminal_summary(terminalreporter):
    if FUZZ:
        terminalreporter.section("hardening: generated malformed inputs")
        for name, n in sorted(FUZZ.items()):
            terminalreporter.write_line(f"{name:40} {n:7d}")
        terminalreporter.write_line(f"{'total':40} {sum(FUZZ.values()):7d}")
