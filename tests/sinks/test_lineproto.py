"""tempest/sinks/lineproto.py against a plain formatter (an f-string per reading): the same set of
lines for readings the fast path writes and the ones it hands to the slow path (10 kWh or more
in an interval, timestamps before 2001, measurements), with missing intervals, escaped tags and
channel names of several lengths in one batch. The sink's end-to-end behaviour against a real
VictoriaMetrics is tests/sinks/test_influx.py's."""

from __future__ import annotations

import numpy as np

from tempest.read.stored import StoredDay
from tempest.sinks import lineproto


def stored_day(serial: str, first_end: int, values: dict[str, list[int]], interval: int = 5,
               measurements: dict | None = None) -> StoredDay:
    n = len(next(iter(values.values())))
    return StoredDay(
        serial=serial, reading_day="2024-06-01", hash="h", status="sealed", interval=interval,
        timezone="UTC", first_end=first_end, expected=n, quality=b"A" * n,
        channels={name: {"role": "import", "unit": "kWh"} for name in values},
        values={name: np.array(v, dtype="<i4") for name, v in values.items()},
        opening=None, closing=None, stored_at=0.0, versions=1, file_id="f",
        measurements=measurements or {})


def plain(day: StoredDay) -> list[str]:
    """The reference: every reading formatted on its own."""
    def tag(v: str) -> str:
        return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
    out = []
    for name in day.channels:
        for i, wh in enumerate(day.channel(name).tolist()):
            if wh >= 0:
                t = (day.first_end + i * day.interval) * 60
                out.append(f"consumption,datastream={tag(name)},serial={tag(day.serial)} "
                           f"reading={wh // 1000}.{wh % 1000:03d} {t}")
    for name, m in day.measurements.items():
        for i, v in enumerate(m["values"]):
            if v is not None:
                t = (day.first_end + i * day.interval) * 60
                text = f"{v / 10 ** m['decimals']:.{m['decimals']}f}"
                out.append(f"sensor,datastream={name},serial={tag(day.serial)},"
                           f"unit={tag(m['unit'])} reading={text} {t}")
    return out


JUNE_2024 = 28_625_760  # 2024-06-01T00:00Z in minutes


def test_a_batch_gives_every_reading_once_exactly():
    rng = np.random.default_rng(3)
    days = []
    for k in range(12):
        values = {name: rng.integers(0, 900, 288).tolist() for name in ("Total", "Sub1", "Hot Water")}
        values["Total"][5] = values["Sub1"][9] = -1  # missing
        if k == 4:
            values["Sub1"][100] = 12_345  # 12.345 kWh: the slow path, for this channel only
            values["Total"][7] = 9_999
        days.append(stored_day(f"m{k:03d}", JUNE_2024 + 1440 * k + 5, values))
    days.append(stored_day("all,missing", JUNE_2024 + 5, {"Total": [-1] * 288}))
    days.append(stored_day("old", 500_000 + 30, {"Total": [1, 2, 3]}, interval=30))  # 1970s
    days.append(stored_day("sense", JUNE_2024 + 5, {"Total": [10, -1, 2_000_000]},
                           measurements={"temperature": {"unit": "°C", "decimals": 1,
                                                         "values": [215, None, -5]}}))
    body = lineproto.body(days)
    assert body.endswith(b"\n")
    got = body.decode().splitlines()
    expected = [line for day in days for line in plain(day)]
    assert sorted(got) == sorted(expected) and len(got) == len(expected)
    assert "consumption,datastream=Sub1,serial=m004 reading=12.345 " in body.decode()
    assert "datastream=Hot\\ Water" in body.decode() and "serial=all\\,missing" not in body.decode()
    assert "reading=2000.000 " in body.decode() and "unit=°C reading=-0.5 " in body.decode()
    assert sum(lineproto.point_count(d) for d in days) == len(got)


def test_one_day_reads_as_text_lines():
    day = stored_day("m1", JUNE_2024 + 5, {"Total": [1, 1000, -1, 54]})
    assert lineproto.day_lines(day) == [
        f"consumption,datastream=Total,serial=m1 reading=0.001 {(JUNE_2024 + 5) * 60}",
        f"consumption,datastream=Total,serial=m1 reading=1.000 {(JUNE_2024 + 10) * 60}",
        f"consumption,datastream=Total,serial=m1 reading=0.054 {(JUNE_2024 + 20) * 60}"]
    assert lineproto.body([]) == b""
