"""The heartbeat routes (`POST /api/v1/heartbeats`, the seed's `POST /heartbeat`) against
thousands of malformed heartbeats: each refused with 4xx naming the field at fault, and the
registry and the heartbeat history unchanged."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening import corpus, malformed
from tests.hardening.fuzzcount import FUZZ
from tests.hardening.state import Stored

EXAMPLES = 2500

# One field made bad, the way each check in tempest/registry.py refuses it.
BAD = {
    "address": st.integers() | st.text(min_size=101, max_size=120) | st.lists(st.text()),
    "ip": st.integers() | st.text(min_size=101, max_size=120),
    "agent_url": st.sampled_from(["ftp://x/", "javascript:alert(1)", "//x", "file:///etc/passwd",
                                  "127.0.0.1:8001", "x" * 300]) | st.integers(),
    "version": st.text(min_size=65, max_size=70) | st.floats() | st.booleans(),
    "config_hash": st.sampled_from(["sha256:", "sha256:" + "g" * 64, "md5:" + "a" * 32,
                                    "sha256:" + "A" * 64, "sha256:" + "a" * 63]),
    "outbox_backlog": st.integers(max_value=-1) | st.booleans() | st.floats() | st.text(),
    "free_disk_bytes": st.integers(max_value=-1) | st.booleans() | st.text(max_size=5),
    "kind": st.sampled_from(["PI", "esp32", "pi "]) | st.integers(),
    "last_tick": st.sampled_from(["yesterday", "2024-13-01T00:00:00", "1" * 41, "2024-05-26 x"])
                 | st.integers(),
    "timestamp": st.sampled_from(["now", "2024-02-30T00:00:00+00:00", "", "T"]) | st.lists(
        st.integers()),
    "uptime_s": st.integers(max_value=-1) | st.text(max_size=3),
    "free_mem": st.booleans() | st.floats(),
    "reset_cause": st.text(min_size=501, max_size=510) | st.integers(),
    "last_error": st.text(min_size=501, max_size=510) | st.dictionaries(st.text(), st.text()),
}
TEXT_FIELDS = {"address", "ip"}


@st.composite
def bad_heartbeat(draw) -> tuple[bytes, str | None]:
    """(body, the field Tempest must name or None)."""
    how = draw(st.sampled_from(["field"] * 6 + ["serial", "no serial", "not json", "not object"]))
    doc = corpus.heartbeat()
    for name in draw(st.lists(st.sampled_from(sorted(doc)), max_size=4)):
        if name != "serial":
            doc.pop(name, None)
    if how == "field":
        name = draw(st.sampled_from(sorted(BAD)))
        if name == "ip":
            doc.pop("address", None)
        doc[name] = draw(BAD[name])
        if name == "address" and isinstance(doc[name], str) and not doc[name]:
            return json.dumps(doc).encode(), None
        return json.dumps(doc).encode(), name
    if how == "serial":
        doc["serial"] = draw(st.sampled_from(malformed.HOSTILE_TEXT + ["kili ", "KILI"]))
        return json.dumps(doc).encode(), "serial"
    if how == "no serial":
        del doc["serial"]
        return json.dumps(doc).encode(), "serial"
    if how == "not object":
        return json.dumps(draw(st.lists(malformed.json_scalars, max_size=3))).encode(), None
    return draw(malformed.garbage().filter(lambda b: not b.strip().startswith(b"{"))), None


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    s = Stored(tmp_path_factory.mktemp("heartbeats"))
    yield s
    s.close()


def test_malformed_heartbeats_are_refused_naming_the_field(stored):
    before = stored.fingerprint()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=bad_heartbeat(), route=st.sampled_from(["/api/v1/heartbeats", "/heartbeat"]),
           key=st.sampled_from(["own"] * 5 + ["none", "other"]))
    def one(case, route, key):
        body, field = case
        FUZZ["heartbeat routes: malformed heartbeats"] += 1
        headers = {"own": {"x-api-key": stored.key}, "none": {},
                   "other": {"x-api-key": stored.other_key}}[key]
        r = stored.client.post(route, data=body, headers={"Content-Type": "application/json",
                                                           **headers})
        assert 400 <= r.status_code < 500, (r.status_code, body[:200], r.get_data()[:200])
        doc = json.loads(r.get_data())
        assert doc["error"] and doc["reason"]
        if key == "own" and field is not None:
            assert doc.get("field") == field, (body[:300], doc)

    one()
    assert stored.fingerprint() == before
