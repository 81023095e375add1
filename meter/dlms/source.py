"""The meter as its DLMS server sees it at an instant: the time, the meter's own (drifted)
clock, its registers and its instantaneous power, all from the model the day files come from.

Time is UTC minutes (or seconds) since the epoch, as everywhere in the meter. The server's
"now" starts at `--at` (tests, demos) and then runs with the wall clock, or is the meter's
usual clock (meter/clock.py, `time_scale` included).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from meter import clock, registers
from meter.config import Config
from meter.dlms import DEFAULT_PORT, DEFAULT_PROFILE_DAYS
from meter.vector.engine import Q_MISSING, VectorMeter

# The feeder (docs/dlms.md): the voltage at the meter sits near the top of the EN 50160 band
# at no load, and the service cable and transformer move it with the home's own net power:
# import pulls it down, PV export pushes it up (a long rural feeder would move more).
NOMINAL_DV = 2320  # decivolts with no load
IMPORT_DROP_DV_PER_KW = 14
EXPORT_RISE_DV_PER_KW = 18
MIN_DV, MAX_DV = 2070, 2530  # 230 V -10 % / +10 %


@dataclass
class Settings:
    host: str
    port: int
    password: str | None
    profile_days: int


def settings_of(cfg: Config) -> Settings | None:
    """The config's `dlms` section, or None where the meter does not serve DLMS."""
    spec = cfg.raw.get("dlms")
    if not spec or not spec.get("enabled", True):
        return None
    return Settings(host=spec.get("host", "0.0.0.0"), port=spec.get("port", DEFAULT_PORT),
                    password=spec.get("password"),
                    profile_days=spec.get("profile_days", DEFAULT_PROFILE_DAYS))


@dataclass
class Instant:
    import_w: int
    export_w: int
    voltage_dv: int  # decivolts
    current_ca: int  # centiamperes


def feeder_voltage_dv(import_w: int, export_w: int) -> int:
    dv = NOMINAL_DV - import_w * IMPORT_DROP_DV_PER_KW // 1000 \
        + export_w * EXPORT_RISE_DV_PER_KW // 1000
    return max(MIN_DV, min(MAX_DV, dv))


class MeterSource:
    """One meter's values for its DLMS server. Thread-safe: connections share it."""

    def __init__(self, cfg: Config, root: Path | None, at: str | None = None,
                 profile_days: int = DEFAULT_PROFILE_DAYS):
        self.cfg = cfg
        self.profile_days = profile_days
        self.root = root
        self.m = cfg.model
        self.vm = VectorMeter(self.m)
        self.model = self.vm.m
        self.zone = self.model.zone
        self.tzinfo = ZoneInfo(self.m["timezone"])
        self._at = clock.parse_instant(at) if at else None
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._dst_windows: dict[int, tuple | None] = {}

    # -- time ---------------------------------------------------------------------------------

    def now_seconds(self) -> float:
        """The true time (UTC seconds)."""
        if self._at is not None:
            return self._at + (time.monotonic() - self._started)
        return clock.now_seconds(None, self.cfg.raw)

    def drift_minutes(self, utc_seconds: float) -> int:
        return self.model.drift(self.zone.day_of(int(utc_seconds // 60)))

    def meter_seconds(self) -> float:
        """The meter's own clock: ahead of the true time by the clock-drift fault."""
        now = self.now_seconds()
        return now + 60 * self.drift_minutes(now)

    def local(self, utc_seconds: float) -> datetime:
        return datetime.fromtimestamp(utc_seconds, UTC).astimezone(self.tzinfo)

    def dst_active(self, utc_seconds: float) -> bool:
        return bool(self.local(utc_seconds).dst())

    def dst_window(self, year: int) -> tuple[datetime, datetime, int] | None:
        """(begin, end, shift minutes) of daylight saving in `year`, local times; None for a
        zone without it."""
        if year not in self._dst_windows:
            self._dst_windows[year] = self._find_dst_window(year)
        return self._dst_windows[year]

    def _find_dst_window(self, year: int) -> tuple[datetime, datetime, int] | None:
        changes = []
        t = datetime(year, 1, 1, tzinfo=UTC)
        step = timedelta(hours=1)
        last = t.astimezone(self.tzinfo).dst()
        while t.year == year:  # hourly scan: DST rules change on the hour
            d = t.astimezone(self.tzinfo).dst()
            if d != last:
                changes.append((t, d))
                last = d
            t += step
        on = [c for c in changes if c[1]]
        off = [c for c in changes if not c[1]]
        if not on or not off:
            return None
        shift = int(on[0][1].total_seconds() // 60)
        return on[0][0].astimezone(self.tzinfo), off[0][0].astimezone(self.tzinfo), shift

    # -- energy -------------------------------------------------------------------------------

    def reading_day(self, meter_minute: int) -> int:
        return self.zone.reading_day_of_end(meter_minute)

    def registers_wh(self) -> list[int]:
        """Every channel's register now: the day's opening read (the same registers the day
        files carry) plus the intervals the meter has recorded today."""
        now = int(self.meter_seconds() // 60)
        day = self.zone.day_of(now)
        with self._lock:
            opening = registers.opening(self.cfg, day, self.root, self.vm)
            run = self.vm.run(day, day)
        if run.outage[0]:
            return opening
        done = (run.ends <= now) & (run.quality != Q_MISSING)
        added = run.recorded[done].sum(axis=0) if done.any() else np.zeros(len(opening))
        return [int(o + a) for o, a in zip(opening, added, strict=True)]

    def instant(self) -> Instant:
        """The household's power in the current minute (the true time: drift moves only the
        meter's clock, not the house) and what the feeder makes of it."""
        u = int(self.now_seconds() // 60)
        with self._lock:
            imp, exp, _ = self.vm._minutes(u, u + 1)
        import_w = int(imp[0])
        export_w = int(exp[0]) if exp is not None else 0
        dv = feeder_voltage_dv(import_w, export_w)
        current = (import_w + export_w) * 1000 // dv  # W / (V/10) * 100 = centiamperes
        return Instant(import_w, export_w, dv, current)

    def run(self, first_day: int, last_day: int):
        with self._lock:
            return self.vm.run(first_day, last_day)
