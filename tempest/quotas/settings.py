"""The quotas' settings, merged into tempest.settings and documented in docs/operations.md.

The defaults are far above what a meter sends (a 5-minute meter uploads its open day 12 times
an hour, each file some tens of kB; a backfill of a year is a few hundred files at once), so
they only ever stop a key that misbehaves.
"""

from __future__ import annotations

MIB = 1024 * 1024

DEFAULTS: dict[str, object] = {
    # Upload token buckets, per meter: this many files / bytes, refilled evenly over an hour.
    "METER_UPLOADS_PER_HOUR": 720,
    "METER_UPLOAD_BYTES_PER_HOUR": 256 * MIB,
    # A meter's unresolved quarantined bytes; a bad file beyond them is dropped and counted.
    "METER_QUARANTINE_BYTES": 64 * MIB,
    # What may wait in a meter's rsync drop folder (<drop>/<serial>/) when ingest takes it.
    "METER_DROP_BYTES": 64 * MIB,
    # Below this much free space on the drop folder's disk, uploads are refused (507).
    "DISK_RESERVE_BYTES": 64 * MIB,
}

TEXT: tuple[str, ...] = ()

NUMBERS = {
    "METER_UPLOADS_PER_HOUR": (int, 1, 10_000_000),
    "METER_UPLOAD_BYTES_PER_HOUR": (int, 1024, 1 << 50),
    "METER_QUARANTINE_BYTES": (int, 0, 1 << 50),
    "METER_DROP_BYTES": (int, 1024, 1 << 50),
    "DISK_RESERVE_BYTES": (int, 0, 1 << 60),
}


def check(config, error) -> None:
    """Nothing beyond the ranges above: every value in range works."""
