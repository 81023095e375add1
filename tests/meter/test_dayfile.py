"""The day file: the writer's exact format, the parser's checks, and the seed's shapes."""

import json
import re

import pytest

from core import civil, dayfile_reader
from meter.daybuild import build_days
from tests.meter.configs import cfg_of, family

DAY = civil.parse_day("2024-10-27")  # 25 hours in Berlin


@pytest.fixture(scope="module")
def fall_back_file():
    cfg = cfg_of(family(faults={"missing_intervals": 0.02, "estimated": 0.02}))
    (built,) = list(build_days(cfg, DAY, DAY, [1234567, 864197, 370370]))
    return built.text


def test_values_have_exactly_three_decimals(fall_back_file):
    doc = json.loads(fall_back_file, parse_float=str)
    numbers = [v for stream in doc["datastreams"].values() for v in stream.values()]
    numbers += list(doc["snapshots"].values()) + list(doc["closing_snapshots"].values())
    assert len(numbers) > 800  # 3 channels x 300 intervals, less the missing ones
    assert all(re.fullmatch(r"\d+\.\d{3}", n) for n in numbers)
    assert doc["snapshots"]["Total"] == "1234.567"


def test_a_fall_back_day_has_300_intervals_and_adds_up(fall_back_file):
    day = dayfile_reader.parse(fall_back_file)
    assert day.expected == 300 and day.status == "sealed"
    assert day.accounted() == 300
    for name in day.channels:
        assert day.closing[name] == day.opening[name] + day.total(name)
    # sub-circuits add up to the import channel in every interval
    for i in range(day.expected):
        if day.values["Total"][i] is not None:
            assert day.values["Main"][i] + day.values["Sub1"][i] == day.values["Total"][i]


def test_missing_intervals_are_marked_and_absent(fall_back_file):
    doc = json.loads(fall_back_file)
    marks = doc["quality"]["Total"]
    missing = [ts for ts, q in marks.items() if q == "missing"]
    estimated = [ts for ts, q in marks.items() if q == "estimated"]
    assert missing and estimated
    assert all(ts not in doc["datastreams"]["Total"] for ts in missing)
    assert all(ts in doc["datastreams"]["Total"] for ts in estimated)


def test_file_validates_against_the_json_schema(fall_back_file):
    import jsonschema

    jsonschema.Draft202012Validator(dayfile_reader.schema()).validate(json.loads(fall_back_file))


def _error(text: str) -> dayfile_reader.DayFileError:
    with pytest.raises(dayfile_reader.DayFileError) as info:
        dayfile_reader.parse(text)
    return info.value


@pytest.mark.parametrize("mutate,field", [
    (lambda t: t.replace('"Total": 1234.567', '"Total": 1234.568', 1), "closing_snapshots.Total"),
    (lambda t: t.replace('"interval": 5', '"interval": 7'), "interval"),
    (lambda t: t.replace('"Europe/Berlin"', '"Europe/Narnia"'), "timezone"),
    (lambda t: t.replace('"status": "sealed"', '"status": "done"'), "status"),
    (lambda t: t.replace('"reading_day": "2024-10-27"', '"reading_day": "2024-02-30"'),
     "reading_day"),
    (lambda t: t.replace('"serial": "fam-1"', '"serial": "../etc"'), "serial"),
])
def test_bad_files_name_the_field(fall_back_file, mutate, field):
    err = _error(mutate(fall_back_file))
    assert err.field.startswith(field), err
    assert err.reason


def test_more_than_three_decimals_is_refused_with_its_line(fall_back_file):
    first = next(iter(json.loads(fall_back_file)["datastreams"]["Total"]))
    text, n = re.subn(rf'("{re.escape(first)}": \d+\.\d{{3}})', r"\g<1>9", fall_back_file,
                      count=1)
    assert n == 1
    err = _error(text)
    assert "3 decimals" in err.reason
    assert err.line == 6  # the Total line of datastreams
    assert err.field == "datastreams.Total." + first


def test_a_timestamp_outside_the_day_is_refused(fall_back_file):
    text = fall_back_file.replace('"2024-10-27T00:05:00+02:00"', '"2024-10-28T00:05:00+01:00"', 1)
    err = _error(text)
    assert "not the end of an interval" in err.reason


def test_not_json_gives_the_line():
    err = _error('{"serial": "a",\n "reading_day": }')
    assert err.line == 2 and "not JSON" in err.reason


def test_seed_v1_payload_loads():
    seed = {
        "serial": "kili", "reading_day": "2023-05-26", "interval": 5,
        "snapshots": {"Total": 1234.5670001, "Main": 740.74},
        "datastreams": {
            "Total": {"2023-05-26T00:05:00+12:00": 0.9309999, "2023-05-26T00:10:00+12:00": 0.4},
            "Main": {"2023-05-26T00:05:00+12:00": 0.5585999, "2023-05-26T00:10:00+12:00": 0.24}},
        "metadata": {"version": "0.3.4", "data_model_version": "1.0.0", "config": {}},
    }
    day = dayfile_reader.parse(json.dumps(seed))
    assert day.shape == "seed" and day.status == "open"
    assert day.values["Total"][:2] == [931, 400]
    assert day.opening["Total"] == 1234567
    assert "rounded values to 3 decimals" in day.notes
    assert day.timezone == "UTC+12:00"


def test_seed_flat_payload_loads():
    flat = {"serial": "mac", "reading_day": "2023-04-02", "2023-04-01T18:05:00": 4.3,
            "2023-04-01T18:15:00": 0.9}
    day = dayfile_reader.parse(json.dumps(flat), legacy_timezone="Pacific/Auckland")
    assert day.shape == "flat" and day.interval == 5
    assert day.total("Total") == 5200


def test_seed_channel_gaps_become_missing_on_every_channel():
    seed = {"serial": "kili", "reading_day": "2023-05-26", "interval": 5,
            "datastreams": {"Total": {"2023-05-26T00:05:00Z": 0.1, "2023-05-26T00:10:00Z": 0.2},
                            "Main": {"2023-05-26T00:10:00Z": 0.1}}}
    day = dayfile_reader.parse(json.dumps(seed))
    assert day.quality[:2] == [dayfile_reader.MISSING, dayfile_reader.ACTUAL]
    assert day.values["Total"][0] is None


def test_the_fast_path_gives_the_same_day_as_the_checked_one(fall_back_file, monkeypatch):
    """Readings of a file with no number finer than Wh skip the per-reading checks; the result
    must be the day the full checks give (a fall-back day: 25 hours, two offsets)."""
    fast = dayfile_reader.parse(fall_back_file)
    checked_calls = []
    real = dayfile_reader.slot_of

    def counting(*args, **kwargs):
        checked_calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(dayfile_reader, "slot_of", counting)
    assert dayfile_reader.parse(fall_back_file) == fast
    quality_marks = sum(len(m) for m in json.loads(fall_back_file)["quality"].values())
    assert len(checked_calls) == quality_marks  # no reading went through the checked path
    doc = json.loads(fall_back_file)
    checked = dayfile_reader._parse_current(json.loads(fall_back_file, parse_float=dayfile_reader.Decimal),
                                     fall_back_file, whole_wh=False)
    assert checked == fast
    assert len(doc["datastreams"]["Total"]) > 280


@pytest.mark.parametrize("spelling", ["{v}0", "{v}e0", "{v}E0"])
def test_finer_spellings_still_take_the_checked_path(fall_back_file, spelling):
    """'0.4120' is whole Wh but not written to exactly three decimals: refused as before, and
    an exponent is never taken on trust."""
    first = next(iter(json.loads(fall_back_file)["datastreams"]["Total"]))
    pattern = rf'("{re.escape(first)}": )(\d+\.\d{{3}})'
    text, n = re.subn(pattern, lambda m: m.group(1) + spelling.format(v=m.group(2)),
                      fall_back_file, count=1)
    assert n == 1
    if spelling == "{v}0":
        assert "3 decimals" in _error(text).reason
    else:  # 1.234e0 has exponent -3: exactly three decimals, accepted by the checked path
        assert dayfile_reader.parse(text) == dayfile_reader.parse(fall_back_file)
