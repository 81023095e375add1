"""What one delivery pass did, as the CLI prints it and the agent answers it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def iso_utc(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


@dataclass
class PassResult:
    serial: str
    route: str  # "http" or "rsync"
    sent: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    open_day: str | None = None  # "sent", "unchanged", "rejected", "skipped" or None
    pending: int = 0  # sealed files still in the outbox afterwards
    deferred_until: float | None = None  # backing off: no attempt before this (meter clock)
    failures: int = 0  # failed passes in a row
    error: str | None = None  # why the pass stopped early (files kept for a later pass)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return {"serial": self.serial, "route": self.route, "sent": self.sent,
                "rejected": self.rejected, "open_day": self.open_day, "pending": self.pending,
                "failures": self.failures, "error": self.error,
                "next_attempt": iso_utc(self.deferred_until)}
