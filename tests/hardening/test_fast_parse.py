"""core.dayfile_reader's fast path (the readings decoded as floats, core/dayfile_json.py; the
serial, day and registers judged by hand, core/dayschema.py) against the checked path (every
number a Decimal, every property judged by jsonschema): the same Day, or the same
DayFileError with the same reason, field and line, on valid and hostile files alike."""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import dayfile_reader, dayschema
from tests.hardening import corpus, malformed
from tests.hardening.fuzzcount import FUZZ
from tests.tempest.tempest_testdata import make_day


def outcome(data: bytes):
    try:
        return "day", dayfile_reader.parse(data, legacy_timezone="Pacific/Auckland")
    except dayfile_reader.DayFileError as exc:
        return "refused", exc.as_dict()


def checked_outcome(data: bytes):
    """The verdict without any shortcut: the checked path, jsonschema on every property."""
    with (mock.patch.object(dayfile_reader, "_parse_fast", lambda text: None),
          mock.patch.object(dayschema, "_BY_HAND", {}),
          mock.patch.object(dayschema, "_verdicts", {})):
        return outcome(data)


@settings(max_examples=1500, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(malformed.as_bytes(list(corpus.day_docs())))
def test_the_fast_path_judges_mutated_files_as_the_checked_path_does(data):
    FUZZ["dayfile_reader.parse: fast path against checked path"] += 1
    assert outcome(data) == checked_outcome(data)


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(corpus.day_texts()), st.data())
def test_respelt_readings_are_judged_alike(text, data):
    """One reading of a valid file written another way: finer, coarser, an exponent, a
    constant, out of range, another type."""
    doc = json.loads(text)
    streams = doc.get("datastreams") or {}
    assume_stream = [c for c, s in streams.items() if isinstance(s, dict) and s]
    if not assume_stream:
        return
    channel = data.draw(st.sampled_from(assume_stream))
    label = data.draw(st.sampled_from(list(streams[channel])))
    spelling = data.draw(st.sampled_from([
        "0.0590", "5.9e-2", "5.90e-2", "0.059", "59", "0", "-0.000", "-0.001", "1E2", "100000",
        "100000.000", "100000.001", "99999.999", "NaN", "Infinity", "1e999", "true", "null",
        '"0.059"', "[]", "{}", "12345678901234567890.5", "0.000000000000000000001"]))
    pattern = rf'("{re.escape(label)}": )(-?[0-9.eE+]+)'
    respelt, n = re.subn(pattern, lambda m: m.group(1) + spelling, text.decode(), count=1)
    if n == 0:
        return
    FUZZ["dayfile_reader.parse: respelt reading"] += 1
    assert outcome(respelt.encode()) == checked_outcome(respelt.encode())


@pytest.mark.parametrize("change", [
    lambda t: t.replace('"interval": 5,', '"interval": 5.0,'),
    lambda t: t.replace('"serial": "kili"', '"serial": "ki..li"'),
    lambda t: t.replace('"serial": "kili"', '"serial": "kili\\n"'),
    lambda t: t.replace('"reading_day": "2024-05-26"', '"reading_day": "2024-05-26\\n"'),
    lambda t: re.sub(r'("snapshots": \{"[^"]+": )[0-9.]+', r"\g<1>-1.000", t, count=1),
    lambda t: re.sub(r'("snapshots": \{"[^"]+": )[0-9.]+', r"\g<1>true", t, count=1),
    lambda t: re.sub(r'("snapshots": \{"[^"]+": )[0-9.]+', r"\g<1>1000000000.001", t, count=1),
    lambda t: re.sub(r'("closing_snapshots": \{"[^"]+": )[0-9.]+', r"\g<1>NaN", t, count=1),
    lambda t: t.replace('"datastreams": {', '"datastreams": {"Extra": {}, ', 1),
    lambda t: t.replace('{"serial"', '{"datastreams": {}, "serial"', 1),  # a repeated key
    lambda t: t + "x",
    lambda t: t.replace(", ", ",\t ", 5),
], ids=["interval 5.0", "serial ..", "serial newline", "day newline", "negative register",
        "boolean register", "register too big", "NaN register", "undeclared channel",
        "repeated key", "trailing garbage", "tabs"])
def test_odd_files_are_judged_alike(change):
    text = change(make_day("kili", "2024-05-26", interval=5, channels=2,
                           zone="Europe/Berlin").decode())
    assert outcome(text.encode()) == checked_outcome(text.encode())


def test_an_interval_written_as_a_decimal_is_refused_with_its_field():
    """5.0 equals the schema's 5, so it passed the schema and then failed the grid with a
    TypeError (ingest quarantined it as "could not check"): now it is refused by name."""
    text = make_day("kili", "2024-05-26", interval=5, channels=2).decode()
    kind, error = outcome(text.replace('"interval": 5,', '"interval": 5.0,').encode())
    assert kind == "refused"
    assert error["field"] == "interval" and "whole number of minutes" in error["reason"]


def test_a_plain_day_takes_the_fast_path():
    """The common file never reaches the checked path (else the fast path has rotted away)."""
    data = make_day("kili", "2024-10-27", interval=5, channels=4, zone="Europe/Berlin")
    want = checked_outcome(data)
    with mock.patch.object(dayfile_reader, "_parse_checked",
                           side_effect=AssertionError("took the checked path")):
        assert outcome(data) == want
