"""Time zones, DST days, sunrise and holidays: the calendar the model lives by."""

import pytest

from core import civil, tz, tzdb
from loadmodel import holidays, sun


@pytest.mark.parametrize("zone,day,hours", [
    ("Europe/Berlin", "2024-03-31", 23), ("Europe/Berlin", "2024-10-27", 25),
    ("Europe/Berlin", "2024-06-01", 24), ("Pacific/Auckland", "2024-04-07", 25),
    ("Pacific/Auckland", "2024-09-29", 23), ("America/New_York", "2024-03-10", 23),
    ("Australia/Lord_Howe", "2024-04-07", 24.5), ("UTC", "2024-03-31", 24),
])
def test_a_reading_day_is_a_local_day(zone, day, hours):
    z = tzdb.zone(zone)
    d = civil.parse_day(day)
    assert (z.day_start(d + 1) - z.day_start(d)) / 60 == hours


def test_midnight_interval_belongs_to_the_day_before():
    z = tzdb.zone("Pacific/Auckland")
    d = civil.parse_day("2023-05-26")
    end = z.day_start(d + 1)
    assert tz.label(z, end) == "2023-05-27T00:00:00+12:00"
    assert z.reading_day_of_end(end) == d
    assert z.reading_day_of_end(end + 5) == d + 1


def test_fall_back_hour_is_labelled_twice_with_different_offsets():
    z = tzdb.zone("Europe/Berlin")
    d = civil.parse_day("2024-10-27")
    start = z.day_start(d)
    labels = [tz.label(z, start + 5 * (i + 1)) for i in range(300)]
    assert len(set(labels)) == 300
    assert "2024-10-27T02:30:00+02:00" in labels and "2024-10-27T02:30:00+01:00" in labels
    assert labels[-1] == "2024-10-28T00:00:00+01:00"


def test_zone_springing_forward_at_midnight_starts_its_day_at_the_transition():
    # America/Santiago moved clocks from 24:00 to 01:00 on 2024-09-08.
    z = tzdb.zone("America/Santiago")
    d = civil.parse_day("2024-09-08")
    start = z.day_start(d)
    assert tz.label(z, start) == "2024-09-08T01:00:00-03:00"
    assert (z.day_start(d + 1) - start) == 23 * 60


def test_unknown_zone_is_refused():
    with pytest.raises(tzdb.UnknownZone):
        tzdb.zone("Mars/Olympus_Mons")


@pytest.mark.parametrize("lat,lon,day,off,rise,set_", [
    # Berlin, midsummer: 04:43 and 21:33 CEST (timeanddate.com)
    (525200, 134050, "2024-06-21", 120, 4 * 60 + 43, 21 * 60 + 33),
    # Berlin, midwinter: 08:15 and 15:54 CET
    (525200, 134050, "2024-12-21", 60, 8 * 60 + 15, 15 * 60 + 54),
    # Auckland, midwinter: 07:33 and 17:11 NZST
    (-368500, 1747600, "2024-06-21", 720, 7 * 60 + 33, 17 * 60 + 11),
])
def test_sunrise_and_sunset_within_five_minutes(lat, lon, day, off, rise, set_):
    r, s, _ = sun.times(lat, lon, civil.parse_day(day), off)
    assert abs(r - rise) <= 5 and abs(s - set_) <= 5


def test_polar_night_and_midnight_sun():
    tromso = 696500
    r, s, _ = sun.times(tromso, 189500, civil.parse_day("2024-12-21"), 60)
    assert r == s
    r, s, _ = sun.times(tromso, 189500, civil.parse_day("2024-06-21"), 120)
    assert s - r >= 1439


@pytest.mark.parametrize("country,dates", [
    ("DE", ["2024-01-01", "2024-03-29", "2024-04-01", "2024-05-01", "2024-05-09",
            "2024-05-20", "2024-10-03", "2024-12-25", "2024-12-26"]),
    ("NZ", ["2024-01-01", "2024-01-02", "2024-02-06", "2024-03-29", "2024-04-01",
            "2024-04-25", "2024-06-03", "2024-06-28", "2024-10-28", "2024-12-25",
            "2024-12-26"]),
    # 2022: Christmas on a Sunday, Boxing Day Monday, substitute Tuesday
    ("GB", ["2022-12-26", "2022-12-27"]),
    # US: 4 July 2026 is a Saturday, observed Friday 3 July
    ("US", ["2026-07-03", "2026-11-26"]),
])
def test_public_holidays(country, dates):
    for text in dates:
        assert holidays.is_holiday(country, civil.parse_day(text)), text


def test_ordinary_days_are_not_holidays():
    assert not holidays.is_holiday("DE", civil.parse_day("2024-11-26"))
    assert not holidays.is_holiday("", civil.parse_day("2024-12-25"))
