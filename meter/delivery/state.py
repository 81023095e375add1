"""The retry state of a meter's delivery, in <root>/delivery.json.

Each delivery pass is a short cron process, so whatever must outlive it (how many passes in a
row failed, when the next attempt is due, the last open day uploaded) is kept in this small
file. Times are the meter's clock in Unix seconds (so `--at` and demo time scales move them
too).

Backoff: after the n-th failure in a row the next attempt waits
    min(backoff_max_s, BASE * 2**(n-1)) * uniform(0.5, 1.0)
("equal jitter": never less than half the delay, so a failing meter does not hammer Tempest,
and a fleet that lost Tempest together does not come back in lock step).
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from meter.delivery.files import write_atomic
from meter.delivery.settings import BACKOFF_BASE_S

log = logging.getLogger("meter.delivery")
STATE_NAME = "delivery.json"


@dataclass
class State:
    failures: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    open_day_sha256: str | None = None  # the open-day version Tempest already has

    # -- backoff ------------------------------------------------------------------------------

    def due(self, now: float, backoff_max_s: int) -> bool:
        """True if an attempt may be made now. A due time further ahead than the longest
        possible wait means the clock went back (a `--at` in the past, a corrected clock):
        waiting for it could take forever, so it is not honoured."""
        if self.next_attempt <= now:
            return True
        return self.next_attempt - now > backoff_max_s

    def failed(self, now: float, reason: str, backoff_max_s: int,
               rng: random.Random | None = None) -> float:
        self.failures += 1
        self.last_error = reason
        self.last_attempt = now
        delay = delay_for(self.failures, backoff_max_s, rng)
        self.next_attempt = now + delay
        return delay

    def succeeded(self, now: float) -> int:
        """Back to normal; returns how many failures in a row there had been."""
        before = self.failures
        self.failures = 0
        self.next_attempt = 0.0
        self.last_error = None
        self.last_attempt = now
        self.last_success = now
        return before

    def public(self) -> dict:
        return asdict(self)


def delay_for(failures: int, backoff_max_s: int, rng: random.Random | None = None) -> float:
    cap = min(backoff_max_s, BACKOFF_BASE_S * 2 ** min(failures - 1, 30))
    return round(cap * (rng or random).uniform(0.5, 1.0), 3)


def load(root: Path) -> State:
    """The saved state; a missing or unreadable file is a fresh start (the worst case is one
    attempt sooner than planned)."""
    path = Path(root) / STATE_NAME
    try:
        doc = json.loads(path.read_text())
        fields = State.__dataclass_fields__
        return State(**{k: v for k, v in doc.items() if k in fields})
    except FileNotFoundError:
        return State()
    except (OSError, ValueError, TypeError) as exc:
        log.warning("%s is unreadable (%s); starting afresh", path, exc)
        return State()


def save(root: Path, state: State) -> bool:
    """Write the state atomically. False (and a log line) if it cannot be written, e.g. on a
    full disk: delivery goes on, the retry timing is merely forgotten."""
    path = Path(root) / STATE_NAME
    try:
        write_atomic(path, (json.dumps(asdict(state), sort_keys=True) + "\n").encode())
        return True
    except OSError as exc:
        log.warning("cannot save %s: %s", path, exc)
        return False
