"""Each quirk as a pure function over a small day's truth (no engine run)."""

from __future__ import annotations

from core import civil, tz, tzdb
from meter.conformance import quirks
from meter.conformance.quirks import ACTUAL_Q, ESTIMATED_Q, MISSING_Q, Row
from meter.conformance.truth import ACTUAL, METER_ESTIMATED, MISSING, SPIKE, DayTruth

BERLIN = tz.Zone("Europe/Berlin", [list(t) for t in tzdb.transitions("Europe/Berlin")])
DAY = civil.parse_day("2024-10-27")  # Berlin's clocks go back: 25 hours


def berlin_fall_day() -> DayTruth:
    start = BERLIN.day_start(DAY)
    ends = tuple(start + 30 * (i + 1) for i in range(50))
    kinds = [ACTUAL] * 50
    kinds[3], kinds[4], kinds[10], kinds[20] = MISSING, MISSING, SPIKE, METER_ESTIMATED
    true = tuple(100 + i for i in range(50))
    recorded = tuple(None if k == MISSING else 5000 if k == SPIKE else t
                     for t, k in zip(true, kinds, strict=True))
    return DayTruth("m1", DAY, BERLIN, 30, ends, true, recorded, tuple(kinds), False, 1000)


def test_a_meter_without_quirks_sends_what_it_recorded_and_a_register_of_the_truth():
    day = berlin_fall_day()
    [send] = quirks.as_recorded(day)
    assert len(send.rows) == 50
    assert send.rows[3] == Row(day.ends[3], None, MISSING_Q)
    assert send.rows[10].wh == 5000 and send.rows[20].quality == ESTIMATED_Q
    assert send.closing_wh - send.opening_wh == sum(day.true)
    assert send.arrives == day.end + 60


def test_zeros_for_missing_sends_actual_zeros():
    day = berlin_fall_day()
    [send] = quirks.zeros_for_missing(quirks.as_recorded(day), day)
    assert send.rows[3] == Row(day.ends[3], 0, ACTUAL_Q)
    assert send.rows[5] == quirks.as_recorded(day)[0].rows[5]


def test_revised_sends_estimates_then_the_actual_day_later():
    day = berlin_fall_day()
    first, again = quirks.revised(quirks.as_recorded(day), day, first=30, last=33, after_days=3)
    assert [r.quality for r in first.rows[30:34]] == [ESTIMATED_Q] * 4
    assert first.rows[29].quality == ACTUAL_Q
    assert again.rows == quirks.as_recorded(day)[0].rows
    assert again.arrives - first.arrives == 3 * 1440


def test_a_meter_exchange_splits_the_day_between_two_serials():
    day = berlin_fall_day()
    old, new = quirks.meter_exchange(quirks.as_recorded(day), day, new_serial="m2", at=30)
    assert (old.serial, new.serial) == ("m1", "m2")
    assert all(r.quality == MISSING_Q for r in old.rows[30:])
    assert all(r.quality == MISSING_Q for r in new.rows[:30])
    assert new.opening_wh == 0 and new.closing_wh == sum(r.wh or 0 for r in new.rows)


def test_multiplier_duplicates_rollover_and_order():
    day = berlin_fall_day()
    [scaled] = quirks.multiplier(quirks.as_recorded(day), day, factor=2)
    assert scaled.rows[0].wh == 2 * day.recorded[0]
    early, late = quirks.duplicate_different(quirks.as_recorded(day), day, missing_tail=4)
    assert [r.quality for r in early.rows[-4:]] == [MISSING_Q] * 4 and late.arrives > early.arrives
    [rolled] = quirks.register_rollover(quirks.as_recorded(day), day,
                                        base_wh=quirks.REGISTER_WRAP_WH - 1000 - 2000)
    assert rolled.closing_wh < rolled.opening_wh
    [moved] = quirks.out_of_order(quirks.as_recorded(day), day)
    assert moved.arrives > day.end + 1440


def test_clock_quirks_on_the_day_clocks_go_back():
    day = berlin_fall_day()
    # The interval ending at 01:00 UTC: 02:00 CET, the first one after the change.
    end = next(e for e in day.ends if e % 1440 == 60)
    n = 30
    assert quirks.local_dst(end, BERLIN, n) == "2024-10-27T02:00:00+01:00"
    assert quirks.utc_all_year(end, BERLIN, n) == "2024-10-27T01:00:00Z"
    assert quirks.local_standard_all_year(end - 60, BERLIN, n) == "2024-10-27T01:00:00+01:00"
    assert quirks.no_offset(end, BERLIN, n) == quirks.no_offset(end - 60, BERLIN, n) \
        == "2024-10-27T02:00:00"
    assert quirks.interval_start(end, BERLIN, n) == "2024-10-27T02:30:00+02:00"
    assert quirks.dlms_deviation_wrong_sign(end, BERLIN, n) == "2024-10-27T02:00:00-01:00"
    assert set(quirks.CONCLUSIONS) == set(quirks.CLOCKS) | set(quirks.DATA)
