"""Demo mode (`"demo": true` in a meter's config): a meter that never touches the network and
shows its readings instead, as the seed's demo Pico showed them on its display.

What never happens for a demo meter: an upload, an rsync, a heartbeat or a redial.
`meter.delivery.settings.delivery()` gives it delivery mode "none" and no heartbeat, whatever
else its config says, so cron's `meter deliver` and `meter heartbeat` do nothing (exit 0, with
the reason); `meter upload`, `sync` and `redial` refuse it (exit 2); the agent's POST /deliver
and /redial answer 409. It still ticks, seals its days into outbox/ and keeps its ground truth
like any meter, so the files are there to look at.

`meter run` prints each interval a demo meter records, one line each, at demo speed when the
config has `time_scale` and `time_origin` (meter/clock.py):

    kili 2024-06-10T10:05+12:00  Total  412  House  247  Garden   41 Wh
"""

from __future__ import annotations

import os
from collections.abc import Callable

from core import civil, tz
from loadmodel import journal_reader
from meter import operations
from meter.config import Config
from meter.storage import DiskFS

# A catch-up (the first tick of a day, or after a pause) records many intervals at once: show
# the newest hour of them, not a screenful per cycle.
SHOWN_PER_TICK = 12


def is_demo(cfg: Config) -> bool:
    return cfg.raw.get("demo") is True


class TapFS(DiskFS):
    """The meter's own DiskFS that also keeps each interval line the Ticker appends to a
    journal: the readings of a tick, without reading any file back."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def append(self, p: str, text: str) -> None:
        super().append(p, text)
        if p.endswith(".journal") and not text.startswith("H"):
            self.rows.append((p, text))


def reading_lines(cfg: Config, rows: list[tuple[str, str]],
                  limit: int = SHOWN_PER_TICK) -> list[str]:
    """One line per recorded interval: serial, the interval's end (local time) and the Wh of
    each channel; `missing` or `(estimated)` as the journal says."""
    zone = tz.Zone(cfg.model["timezone"], cfg.model["tz_rules"])
    n = cfg.model["interval"]
    names = cfg.channel_names
    width = max(len(name) for name in names)
    out = []
    skipped = max(0, len(rows) - limit)
    if skipped:
        out.append(f"{cfg.serial} ({skipped} earlier intervals recorded)")
    for path, text in rows[skipped:]:
        got = journal_reader.parse_line(text, len(names))
        if got is None:
            continue
        i, quality, values = got
        day = civil.parse_day(os.path.basename(path)[:10])
        label = tz.label(zone, zone.day_start(day) + (i + 1) * n)  # ...T10:05:00+12:00
        when = label[:16] + label[19:]
        if values is None:
            body = "missing"
        else:
            body = "  ".join(f"{name:>{width}} {v:>4}" for name, v in zip(names, values,
                                                                           strict=True))
            body += " Wh" + (" (estimated)" if quality else "")
        out.append(f"{cfg.serial} {when}  {body}")
    return out


def banner(cfg: Config) -> str:
    return (f"{cfg.serial}: demo mode, no network; Wh per {cfg.model['interval']}-minute "
            f"interval ({', '.join(cfg.channel_names)})")


def tick_and_show(cfg: Config, root, now_min: int, echo: Callable[[str], None]) -> dict:
    """One tick of a demo meter, its readings echoed."""
    fs = TapFS()
    summary = operations.tick(cfg, root, now_min, fs)
    for line in reading_lines(cfg, fs.rows):
        echo(line)
    for day in summary["sealed"]:
        echo(f"{cfg.serial} {day} sealed into outbox/ (a demo meter sends nothing)")
    return summary
