"""The meter's notion of now, in UTC minutes since the epoch.

`--at` overrides it (tests, backfills). `time_scale` in the config runs a demo faster than real
time: from `time_origin` on, simulated time advances `time_scale` times as fast as the wall
clock (300 gives one 5-minute interval per second).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class ClockError(ValueError):
    pass


def parse_instant(text: str) -> float:
    """ISO 8601 (an offset or Z required, or a plain date meaning its UTC midnight)."""
    try:
        if len(text) == 10:
            dt = datetime.fromisoformat(text).replace(tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ClockError(f"not an ISO 8601 time: {text!r}") from exc
    if dt.tzinfo is None:
        raise ClockError(f"{text!r} has no UTC offset; write e.g. {text}+00:00")
    return dt.timestamp()


def now_seconds(at: str | None = None, raw_config: dict | None = None) -> float:
    if at:
        return parse_instant(at)
    real = time.time()
    cfg = raw_config or {}
    scale = cfg.get("time_scale", 1)
    if scale != 1 and cfg.get("time_origin"):
        origin = parse_instant(cfg["time_origin"])
        return origin + (real - origin) * scale
    return real


def now_minute(at: str | None = None, raw_config: dict | None = None) -> int:
    return int(now_seconds(at, raw_config) // 60)


def iso(seconds: float, offset_min: int = 0) -> str:
    from datetime import timedelta, timezone

    return datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset_min))).isoformat(
        timespec="seconds")
