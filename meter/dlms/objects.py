"""The meter's COSEM objects (on gurux-dlms), each reading its value from the model when a
client asks for it: docs/dlms.md has the table of OBIS codes, types, scalers and units.

Channels get their OBIS codes by role: the grid import register is 1.0.1.8.0.255 and the
first export register 1.0.2.8.0.255 (B = 0, the whole meter); every other channel (a
sub-circuit, an independent or generation channel) takes B = its position in the config
(1-based), so 1.2.1.8.0.255 is the second channel's. The profile's interval columns are the
same channels' "energy of the last capture period" objects, C.29 (1.0.1.29.0.255, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from gurux_dlms import GXDateTime
from gurux_dlms.enums import ClockStatus, DataType, DateTimeSkips, ErrorCode, Unit
from gurux_dlms.objects import (
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

from loadmodel.engine import ROLE_EXPORT, ROLE_IMPORT
from meter.dlms import events, profile
from meter.dlms.source import MeterSource

LDN = "0.0.42.0.0.255"
SERIAL = "0.0.96.1.0.255"
CLOCK = "0.0.1.0.0.255"
AMR_STATUS = "0.0.96.10.1.255"
EVENT_CODE = "0.0.96.11.0.255"
FAILURE_DURATION = "0.0.96.7.19.255"
VOLTAGE = "1.0.32.7.0.255"
CURRENT = "1.0.31.7.0.255"
POWER_IMPORT = "1.0.1.7.0.255"
POWER_EXPORT = "1.0.2.7.0.255"
LOAD_PROFILE = "1.0.99.1.0.255"
EVENT_LOG = "0.0.99.98.0.255"
POWER_FAILURE_LOG = "0.0.99.97.0.255"
# The logical device name: a three-letter manufacturer (FLAG) id, then the serial.
MANUFACTURER = "MTR"


def channel_obis(channels: list[list]) -> list[tuple[int, int]]:
    """(B, C) of each channel's OBIS codes, in the config's order."""
    out, taken = [], set()
    for i, ch in enumerate(channels):
        c = 2 if ch[1] == ROLE_EXPORT else 1
        whole = ch[1] in (ROLE_IMPORT, ROLE_EXPORT) and c not in taken
        if whole:
            taken.add(c)
        out.append((0 if whole else i + 1, c))
    return out


def dlms_time(src: MeterSource, utc_seconds: float) -> GXDateTime:
    """A date-time in the meter's local time with its deviation and DST status.

    A meter with the clock quirk `dlms_deviation_wrong_sign` (docs/conformance.md) writes the
    deviation with the opposite sign (the UTC offset where the standard wants minutes from
    local time to UTC); `dlms_deviation_unspecified` writes 0x8000, "not specified". Its wall
    clock and DST status stay right: a head-end must notice the deviation alone is wrong."""
    local = src.local(utc_seconds).replace(microsecond=0)
    quirk = (src.cfg.raw.get("quirks") or {}).get("clock")
    if quirk == "dlms_deviation_wrong_sign":
        t = GXDateTime(local.replace(tzinfo=timezone(-local.utcoffset())))
        if local.dst():  # a fixed offset has no DST of its own to report
            t.status |= ClockStatus.DAYLIGHT_SAVE_ACTIVE
        return t
    t = GXDateTime(local)
    if quirk == "dlms_deviation_unspecified":
        t.skip |= DateTimeSkips.DEVITATION  # (sic: the library's spelling)
    return t


def parse_dlms_time(raw: bytes, src: MeterSource) -> int:
    """UTC minute of a COSEM date-time (12 bytes); deviation 0x8000 means the meter's local
    time. The standard's sign: deviation = minutes from local time to UTC (UTC+1 is -60)."""
    year = int.from_bytes(raw[0:2], "big")
    local = datetime(year, raw[2], raw[3], raw[5] % 24, raw[6] % 60, raw[7] % 60)
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    if deviation == -0x8000:
        aware = local.replace(tzinfo=src.tzinfo)
        return int(aware.timestamp() // 60)
    utc = local + timedelta(minutes=deviation)
    return int(utc.replace(tzinfo=UTC).timestamp() // 60)


class LiveData(GXDLMSData):
    def __init__(self, ln: str, dtype: int, read: Callable[[], object]):
        super().__init__(ln)
        self.setDataType(2, dtype)
        self._read = read

    def getValue(self, settings, e):
        if e.index == 2:
            self.value = self._read()
        return super().getValue(settings, e)


class LiveRegister(GXDLMSRegister):
    def __init__(self, ln: str, dtype: int, scaler: float, unit: int,
                 read: Callable[[], int]):
        super().__init__(ln)
        self.setDataType(2, dtype)
        self.scaler = scaler
        self.unit = unit
        self._read = read

    def getValue(self, settings, e):
        if e.index == 2:
            self.value = self._read()
        return super().getValue(settings, e)


class LiveClock(GXDLMSClock):
    """The meter's clock (drifted when the clock-drift fault is on), its zone, DST status and
    DST window of the current year."""

    def __init__(self, src: MeterSource):
        super().__init__(CLOCK)
        self._src = src

    def getValue(self, settings, e):
        src = self._src
        now = src.meter_seconds()
        local = src.local(now)
        self.time = dlms_time(src, now)
        self.timeZone = -int(local.utcoffset().total_seconds() // 60) + (
            int(local.dst().total_seconds() // 60))
        window = src.dst_window(local.year)
        self.enabled = window is not None
        if window:
            begin, end, shift = window
            self.begin, self.end, self.deviation = GXDateTime(begin), GXDateTime(end), shift
        self.status = 0x80 if local.dst() else 0
        return super().getValue(settings, e)


class LiveProfile(GXDLMSProfileGeneric):
    """A profile whose buffer is built from the model for each read: whole, or by a range of
    its clock column (selective access 1). Rows: (UTC minute, value, value, ...)."""

    def __init__(self, ln: str, src: MeterSource, columns: list, period_s: int,
                 read: Callable[[int, int], list[tuple]], depth: Callable[[], int]):
        super().__init__(ln)
        self._src = src
        self._read = read
        self._depth = depth
        self.capturePeriod = period_s
        for obj, attr in columns:
            self.addCaptureObject(obj, attr, 0)

    def getValue(self, settings, e):
        if e.index == 2:
            first, last = -(1 << 40), 1 << 40
            if e.selector == 1 and e.parameters:
                first = parse_dlms_time(bytes(e.parameters[1]), self._src)
                last = parse_dlms_time(bytes(e.parameters[2]), self._src)
            elif e.selector:
                e.error = ErrorCode.OTHER_REASON  # only range access is implemented
                return None
            table = [[dlms_time(self._src, r[0] * 60), *r[1:]] for r in self._read(first, last)]
            return self.getData(settings, e, table, None)
        if e.index == 7:
            self.entriesInUse = len(self._read(-(1 << 40), 1 << 40))
        if e.index == 8:
            self.profileEntries = self._depth()
        return super().getValue(settings, e)


def build(src: MeterSource) -> list:
    """Every object the meter serves (the association is added by the server)."""
    m = src.m
    serial = m["serial"]
    interval = m["interval"]
    clock = LiveClock(src)
    ldn = LiveData(LDN, DataType.OCTET_STRING, lambda: (MANUFACTURER + serial).encode())
    serial_obj = LiveData(SERIAL, DataType.STRING, lambda: serial)

    def last_row():
        now = int(src.meter_seconds() // 60)
        got = profile.rows(src, now - 2 * 1440, now)
        return got[-1] if got else None

    def last_status():
        row = last_row()
        return row.status if row else 0

    def last_value(c):
        row = last_row()
        return row.values[c] if row else 0

    status = LiveData(AMR_STATUS, DataType.UINT8, last_status)
    objs = [ldn, serial_obj, clock, status]
    columns: list = [(clock, 2), (status, 2)]
    for c, (b, cc) in enumerate(channel_obis(m["channels"])):
        objs.append(LiveRegister(f"1.{b}.{cc}.8.0.255", DataType.UINT32, 1, Unit.ACTIVE_ENERGY,
                                 lambda c=c: src.registers_wh()[c]))
        delta = LiveRegister(f"1.{b}.{cc}.29.0.255", DataType.UINT32, 1, Unit.ACTIVE_ENERGY,
                             lambda c=c: last_value(c))
        objs.append(delta)
        columns.append((delta, 2))

    def profile_rows(first, last):
        return [(r.end, r.status, *r.values) for r in profile.rows(src, first, last)]

    objs.append(LiveProfile(LOAD_PROFILE, src, columns, interval * 60, profile_rows,
                            lambda: profile.depth_rows(src)))
    objs += [
        LiveRegister(VOLTAGE, DataType.UINT16, 0.1, Unit.VOLTAGE,
                     lambda: src.instant().voltage_dv),
        LiveRegister(CURRENT, DataType.UINT16, 0.01, Unit.CURRENT,
                     lambda: src.instant().current_ca),
        LiveRegister(POWER_IMPORT, DataType.UINT32, 1, Unit.ACTIVE_POWER,
                     lambda: src.instant().import_w),
        LiveRegister(POWER_EXPORT, DataType.UINT32, 1, Unit.ACTIVE_POWER,
                     lambda: src.instant().export_w),
    ]
    code = LiveData(EVENT_CODE, DataType.UINT16,
                    lambda: (events.event_rows(src) or [(0, 0)])[-1][1])
    duration = LiveRegister(FAILURE_DURATION, DataType.UINT32, 1, Unit.SECOND,
                            lambda: (events.power_failure_rows(src) or [(0, 0)])[-1][1])
    objs += [code, duration]

    def in_range(rows, first, last):
        return [r for r in rows if first <= r[0] <= last]

    objs.append(LiveProfile(EVENT_LOG, src, [(clock, 2), (code, 2)], 0,
                            lambda a, b: in_range(events.event_rows(src), a, b),
                            lambda: events.MAX_ENTRIES))
    objs.append(LiveProfile(POWER_FAILURE_LOG, src, [(clock, 2), (duration, 2)], 0,
                            lambda a, b: in_range(events.power_failure_rows(src), a, b),
                            lambda: events.MAX_ENTRIES))
    return objs

