"""core.tzdb scans a zone a day at a time (tzdb.STEP): the tables must be the ones the older
quarter-day scan built, for the zones whose transitions are closest together in the IANA
database (Gaza and Hebron's, Noronha's, Recife's and Boa Vista's come 6.96 days apart) and a
few of every kind (half-hour DST, Ramadan pauses, southern summers, no DST at all)."""

from datetime import timedelta
from itertools import pairwise

import pytest

from core import tzdb

CLOSEST = ["Asia/Gaza", "Asia/Hebron", "America/Noronha", "America/Recife", "America/Boa_Vista",
           "America/Argentina/Tucuman", "America/Fortaleza"]
KINDS = ["Europe/Berlin", "Pacific/Auckland", "Australia/Lord_Howe", "Africa/Casablanca",
         "Antarctica/Troll", "Asia/Kathmandu", "America/Santiago", "Pacific/Apia", "UTC"]


@pytest.mark.parametrize("name", CLOSEST + KINDS)
def test_a_day_step_gives_the_quarter_day_table(name, monkeypatch):
    fast = tzdb.transitions.__wrapped__(name)
    monkeypatch.setattr(tzdb, "STEP", timedelta(hours=6))
    assert fast == tzdb.transitions.__wrapped__(name)


@pytest.mark.parametrize("name", CLOSEST)
def test_no_two_transitions_share_a_step(name):
    """What makes the day step exact: a step never holds two transitions."""
    table = tzdb.transitions(name)
    gaps = [b - a for (a, _), (b, _) in pairwise(table[1:])]
    assert min(gaps) > 2 * tzdb.STEP.total_seconds() / 60
