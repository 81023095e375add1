"""The hardening suites' shared counters: how many generated inputs each fuzzer sent, printed
at the end of the run (docs/reliability.md quotes them)."""

from __future__ import annotations

from collections import Counter

FUZZ = Counter()


def pytest_terminal_summary(terminalreporter):
    if FUZZ:
        terminalreporter.section("hardening: generated malformed inputs")
        for name, n in sorted(FUZZ.items()):
            terminalreporter.write_line(f"{name:40} {n:7d}")
        terminalreporter.write_line(f"{'total':40} {sum(FUZZ.values()):7d}")
