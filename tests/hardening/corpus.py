"""Valid documents the fuzzers start from: day files of every accepted shape, heartbeats and a
meter config, all real (the meter's own writer and the seed's shapes)."""

from __future__ import annotations

import functools
import json

from tests.tempest.tempest_testdata import flat_payload, make_day, seed_payload

SERIAL = "kili"


@functools.cache
def day_texts() -> tuple[bytes, ...]:
    """Small days (few intervals and channels): a malformed file costs the parser a full
    JSON Schema pass over its readings, so small files buy many more inputs per second."""
    return (
        make_day(SERIAL, "2024-05-26", interval=60, channels=2, zone="Europe/Berlin"),
        make_day(SERIAL, "2024-04-07", interval=60, channels=1),  # 25 hours in Auckland
        make_day(SERIAL, "2024-05-27", interval=15, channels=2, status="open", upto=16,
                 missing=(3, 4), estimated=(10, 11)),
        make_day(SERIAL, "2024-05-28", interval=60, channels=1, zone="America/New_York"),
        _trimmed_seed(seed_payload(SERIAL, "2023-05-26"), 24),
        flat_payload(SERIAL, "2023-04-02", hours=6),
    )


def _trimmed_seed(text: bytes, keep: int) -> bytes:
    doc = json.loads(text)
    doc["datastreams"] = {c: dict(list(s.items())[:keep]) for c, s in doc["datastreams"].items()}
    return json.dumps(doc).encode()


@functools.cache
def day_docs() -> tuple[dict, ...]:
    return tuple(json.loads(t) for t in day_texts())


def heartbeat() -> dict:
    return {"serial": SERIAL, "kind": "pi", "version": "0.1.0", "address": "127.0.0.11",
            "agent_url": "http://127.0.0.11:8001/", "timestamp": "2024-05-26T10:05:00+12:00",
            "last_tick": "2024-05-26T10:05:00+12:00", "config_hash": "sha256:" + "a" * 64,
            "outbox_backlog": 0, "free_disk_bytes": 10**9}


def meter_config() -> dict:
    return {"serial": SERIAL, "timezone": "Pacific/Auckland", "interval_min": 5,
            "location": {"latitude": -36.85, "longitude": 174.76, "country": "NZ"},
            "archetype": "family", "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4},
            "pv": {"kwp": 4.5}, "ev": {"kw": 7.2, "sessions_per_week": 3},
            "faults": {"missing_intervals": 0.001, "late_days": 0.02},
            "commissioned": "2024-01-01", "tempest_url": "http://127.0.0.1:8002/",
            "tempest_api_key": "meter-secret-key-0123456789",
            "delivery": {"mode": "http", "timeout_s": 10},
            "agent": {"host": "127.0.0.1", "port": 8001, "key": "agent-secret-key-0123456789"}}
