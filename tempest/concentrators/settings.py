"""The concentrator routes' settings, merged into tempest.settings (docs/operations.md).

A batch carries many meters' files, so it has its own body limit instead of
TEMPEST_MAX_CONTENT_LENGTH; each file in it is still held to TEMPEST_MAX_CONTENT_LENGTH, as
if it had been uploaded alone.
"""

from __future__ import annotations

MIB = 1024 * 1024

DEFAULTS: dict[str, object] = {
    "CONCENTRATOR_MAX_BATCH_BYTES": 32 * MIB,  # one batch request's body
    "CONCENTRATOR_MAX_BATCH_ITEMS": 2000,  # files or heartbeats in one batch
}

TEXT: tuple[str, ...] = ()

NUMBERS = {
    "CONCENTRATOR_MAX_BATCH_BYTES": (int, 1024, 1 << 31),
    "CONCENTRATOR_MAX_BATCH_ITEMS": (int, 1, 1_000_000),
}


def check(config, error) -> None:
    """Nothing beyond the ranges above: every value in range works."""
