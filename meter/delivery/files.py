"""Atomic file writes for delivery: core.durable's, retried when a starting tick sweeps ours.

Delivery chooses the mode up front (a config holding API keys is never readable by others,
not even for an instant) and may hand the file to the meter's account (`owner`).
"""

from __future__ import annotations

from pathlib import Path

from core import durable


def write_atomic(path: str | Path, data: bytes, mode: int = 0o644,
                 owner: tuple[int, int] | None = None) -> None:
    """`owner` (uid, gid): give the new file to them before it appears (an agent running as
    root rewriting a config that belongs to the meter's account)."""
    path = Path(path)
    for attempt in range(3):
        try:
            durable.write_atomic(path, data, mode=mode, owner=owner)
            return
        except FileNotFoundError:
            # A starting tick clears `.*.tmp` files it takes for a killed writer's leftovers
            # (meter/operations.py), ours included if it runs at that moment: write again.
            if attempt == 2 or not path.parent.is_dir():
                raise
