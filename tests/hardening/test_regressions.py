"""Bugs the hardening suites found, each pinned by the smallest input that showed it."""

from __future__ import annotations

import pytest

from meter import dayfile


@pytest.mark.parametrize("data", [
    b"\xff\xfe{}",  # not UTF-8: decoding used to raise UnicodeDecodeError past parse()
    b'{"serial": ' + b"1" * 5000 + b"}",  # an integer past Python's 4300-digit limit
    b'{"reading_day": "2024-05-01", "2024-05-01T00:05:00": 1' + b"0" * 4400 + b"}",
])
def test_parse_rejects_undecodable_bytes_and_huge_integers_with_a_reason(data):
    with pytest.raises(dayfile.DayFileError) as err:
        dayfile.parse(data)
    assert err.value.reason
