"""JSON nested just under (and over) the parser's recursion limit (security review, finding 3).

Nesting a little under Python's recursion limit parses as JSON, then overflowed the stack in
the checks after it: a `RecursionError` escaped `core.dayfile_reader.parse`, which failed the whole
ingest batch on every rescan (the good files behind it stayed in the drop folder) and made the
upload routes answer 500. Where exactly the overflow happens depends on how deep the caller's
stack already is (a test, a Flask thread, the ingest worker), so every depth of a band around
the limit is tried.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import requests

from core import dayfile_reader
from tests.hardening import corpus
from tests.hardening.state import Stored
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import make_day

LIMIT = sys.getrecursionlimit()
DEPTHS = [*range(LIMIT - 150, LIMIT + 20), 5 * LIMIT]
GOOD_DAYS = ("2024-06-01", "2024-06-02", "2024-06-03")


def deep(depth: int) -> bytes:
    """A day file's opening whose `metadata` is `depth` nested lists."""
    return (b'{"serial": "kili", "reading_day": "2024-06-04", "metadata": '
            + b"[" * depth + b"]" * depth + b"}")


@pytest.mark.parametrize("depth", DEPTHS)
def test_parse_refuses_deep_nesting_with_a_reason(depth):
    with pytest.raises(dayfile_reader.DayFileError) as err:
        dayfile_reader.parse(deep(depth))
    assert "nested" in err.value.reason


def _serve(stored, tmp_path):
    server = Tempest(stored.layout.data_dir, tmp_path / "tempest.log",
                     TEMPEST_INGEST_BATCH=1000)
    try:
        yield server.start()
    finally:
        server.stop()
        stored.close()


@pytest.fixture
def served(tmp_path):
    """A real `tempest serve` started on a drop folder holding deep files, then good ones."""
    stored = Stored(tmp_path)
    drop = stored.layout.drop
    # The deep files first (older), the good ones behind them: one batch holds them all.
    for depth in DEPTHS:
        (drop / f"deep_{depth}.json").write_bytes(deep(depth))
    for day in GOOD_DAYS:
        (drop / f"kili_{day}.json").write_bytes(make_day(corpus.SERIAL, day, interval=60))
    for server in _serve(stored, tmp_path):
        yield stored, server


@pytest.fixture
def bare(tmp_path):
    """A real `tempest serve` on an empty drop folder."""
    stored = Stored(tmp_path)
    for server in _serve(stored, tmp_path):
        yield stored, server


def test_deep_files_are_quarantined_and_the_good_ones_beside_them_stored(served):
    stored, server = served
    drop, conn = stored.layout.drop, stored.conn
    wait_for(lambda: not os.listdir(drop), 60,
             what=f"the drop folder emptied (still there: {sorted(os.listdir(drop))[:5]}...)")
    days = {r[0] for r in conn.execute("SELECT reading_day FROM days WHERE serial = 'kili'")}
    assert set(GOOD_DAYS) <= days and "2024-06-04" not in days
    rows = {r["original_name"]: r for r in conn.execute("SELECT * FROM quarantine")}
    for depth in DEPTHS:
        q = rows[f"deep_{depth}.json"]
        assert "nested" in q["reason"], (depth, q["reason"])
        bad = stored.layout.quarantine / q["name"]
        assert bad.read_bytes() == deep(depth)
        reason = json.loads((bad.parent / (bad.name + ".reason.json")).read_text())
        assert reason["reason"] == q["reason"]
    assert server.ready()


@pytest.mark.parametrize("route", ["/update", "/api/v1/days"])
def test_deep_uploads_answer_4xx_with_a_json_reason(bare, route):
    stored, server = bare
    before = stored.fingerprint()
    for depth in DEPTHS:
        r = requests.post(server.endpoint(route), data=deep(depth), timeout=30,
                          headers={"x-api-key": stored.key,
                                   "Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (depth, r.status_code, r.text[:200])
        body = r.json()
        assert body["error"] and body["reason"], body
    assert not os.listdir(stored.layout.drop)
    assert stored.fingerprint() == before  # nothing stored changed
    assert server.ready()
