"""How a delivery fails, and how long to wait before the next try.

Three kinds, because they call for different things:

- `RETRY`: the sink answered but could not take the item now (5xx, 429, 408, a timeout). The
  attempt counts: after TEMPEST_SINK_MAX_ATTEMPTS the item is parked as dead, so one item the
  sink chokes on cannot block the queue forever.
- `PAUSE`: the sink is not there or will take nothing from us (connection refused, DNS, 401,
  403). That is about the sink, not the item: the queue waits with capped backoff and no item
  is charged, so an outage of any length ends with everything delivered, in order, and a wrong
  key does not kill the whole queue in a burst.
- `REJECT`: the sink refused this item for good (any other 4xx): dead at once, with the reason.
"""

from __future__ import annotations

import random
import re

RETRY, PAUSE, REJECT = "retry", "pause", "reject"


class Failure(Exception):
    """A delivery that did not succeed; `reason` says why in words an operator can act on."""

    def __init__(self, kind: str, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.retry_after = retry_after  # the sink's Retry-After, seconds


def for_status(status: int, reason: str, retry_after: float | None = None) -> Failure:
    """The kind of failure an HTTP status means."""
    if status in (401, 403):
        return Failure(PAUSE, reason)
    if status in (408, 429) or status >= 500:
        return Failure(RETRY, reason, retry_after)
    return Failure(REJECT, reason)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds (the HTTP-date form is rare from APIs: ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: the n-th retry waits between half and all of
    min(cap, base * 2**(n-1)), so a fleet of Tempests does not hammer a recovering sink in
    step."""
    ceiling = min(cap, base * 2 ** max(0, min(attempt - 1, 60)))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+|timed out|Name or service not known")


def short(exc: BaseException) -> str:
    """The gist of a transport error ("[Errno 111] Connection refused"), not urllib3's
    nested repr of every wrapper."""
    text = str(exc)
    m = _ERRNO.search(text)
    if m:
        return m.group(0).strip()
    return text if len(text) < 300 else text[:300] + "..."
