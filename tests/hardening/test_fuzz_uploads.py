"""The upload routes (`POST /api/v1/days`, the seed's `POST /update`) against thousands of
malformed day files and bad keys, through Flask's test client: never a 5xx, always a reason,
a 422 always quarantined with its reason file, and nothing already stored changed."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core import dayfile_reader
from tests.hardening import corpus, malformed
from tests.hardening.fuzzcount import FUZZ
from tests.hardening.state import Stored

EXAMPLES = 2500
REJECTED = {400, 401, 403, 413, 422}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    # Thousands of uploads with one key in seconds: far past a meter's hourly allowance,
    # which test_tempest_quotas.py checks; here every answer is about the body.
    s = Stored(tmp_path_factory.mktemp("uploads"), METER_UPLOADS_PER_HOUR=10_000_000)
    yield s
    s.close()


def would_accept(body: bytes, own_key: bool) -> bool:
    """Whether Tempest should take this upload (a valid file of the key's own meter)."""
    if not own_key:
        return False
    try:
        day = dayfile_reader.parse(body, legacy_timezone="Pacific/Auckland")
    except dayfile_reader.DayFileError:
        return False
    return day.serial == corpus.SERIAL


bodies = st.one_of(malformed.as_bytes(list(corpus.day_docs())), malformed.garbage(),
                   st.integers(65 * 1024, 200 * 1024).map(lambda n: b" " * n + b"{}"))
who = st.sampled_from(["own", "own", "own", "own", "none", "wrong", "other", "empty"])


def test_malformed_uploads_are_refused_with_a_reason_and_change_nothing(stored):
    before = stored.fingerprint()
    quarantined = stored.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    seen = {"422": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies, caller=who, route=st.sampled_from(["/api/v1/days", "/update"]))
    def one(body, caller, route):
        assume(not would_accept(body, caller == "own"))
        FUZZ["upload routes: malformed files, bad keys"] += 1
        headers = {"own": {"x-api-key": stored.key}, "none": {},
                   "wrong": {"x-api-key": "not-a-key-0123456789"},
                   "other": {"x-api-key": stored.other_key}, "empty": {"x-api-key": ""}}[caller]
        r = stored.client.post(route, data=body, headers={
            "Content-Type": "application/json", **headers})
        assert r.status_code in REJECTED, (r.status_code, r.get_data()[:300])
        doc = json.loads(r.get_data())
        assert doc["error"] and doc["reason"], doc
        if caller in ("none", "wrong", "empty"):
            assert r.status_code == 401  # before the body is even read
        if r.status_code == 422:
            seen["422"] += 1
            assert doc["error"] == "invalid_day_file" and "field" in doc and doc["id"]
            row = stored.conn.execute("SELECT name FROM quarantine WHERE id = ?",
                                      (doc["id"],)).fetchone()
            assert (stored.layout.quarantine / (row[0] + ".reason.json")).is_file()
        assert stored.drop() == []

    one()
    assert stored.fingerprint() == before
    now = stored.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    assert now - quarantined == seen["422"] > 0
