"""How many generated inputs each fuzzer sent, by name: the fuzzers count into FUZZ, and
conftest.py prints it at the end of the run (docs/reliability.md quotes the figures)."""

from __future__ import annotations

from collections import Counter

FUZZ: Counter[str] = Counter()
