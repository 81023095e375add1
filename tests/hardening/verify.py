"""The end of the worst week: what the meters delivered, checked in Tempest and in each sink,
with the counts the suite prints.

Tempest: one stored day per delivered meter-day, its bytes the ground truth's; every file it
recorded is in archive/ or quarantine/ (with a reason file), nothing waits in drop/.
VictoriaMetrics keeps every sample it is sent (InfluxDB would overwrite), so it is a strict
witness: each reading is there with the truth's value, as many times as Tempest's queue
recorded a delivery of that day (`sink_delivered.deliveries`); a crash between the sink's
answer and Tempest recording it may add one more copy of that batch, which is counted.
The reference MDMS logs every push: one accepted payload per meter-day version, never one
idempotency key with two different bodies.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def tempest_store(data_dir: Path, delivered: dict[tuple[str, str], str]) -> dict:
    conn = sqlite3.connect(data_dir / "tempest.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        days = {(r["serial"], r["reading_day"]): dict(r) for r in conn.execute(
            "SELECT serial, reading_day, hash, status, file_id FROM days")}
        files = [dict(r) for r in conn.execute("SELECT id, serial, reading_day, outcome, path, "
                                               "hash FROM files")]
        quarantined = conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        sink_rows = [dict(r) for r in conn.execute("SELECT * FROM sink_delivered")]
        queue_left = conn.execute("SELECT count(*) FROM sink_queue").fetchone()[0]
    finally:
        conn.close()
    assert set(days) == set(delivered), (
        f"stored but not delivered: {sorted(set(days) - set(delivered))[:5]}; "
        f"delivered but not stored: {sorted(set(delivered) - set(days))[:5]}")
    for key, text in delivered.items():
        assert days[key]["hash"] == _sha(text), f"{key}: stored bytes differ from the truth"
        assert days[key]["status"] == "sealed"
    outcomes = Counter(f["outcome"] for f in files)
    per_day = Counter((f["serial"], f["reading_day"]) for f in files if f["outcome"] == "stored")
    assert all(n == 1 for n in per_day.values()) and len(per_day) == len(days), \
        "a day stored more than once"
    assert outcomes.keys() <= {"stored", "unchanged", "quarantined"}, outcomes
    for f in files:
        where = data_dir / f["path"]
        assert where.is_file(), f"{f['id']}: {f['path']} is not there"
        if f["outcome"] == "quarantined":
            assert Path(f"{where}.reason.json").is_file(), f"{f['path']} has no reason file"
        else:
            assert f["path"].startswith("archive/")
            assert hashlib.sha256(where.read_bytes()).hexdigest() == f["hash"]
    archived = {p.relative_to(data_dir).as_posix() for p in (data_dir / "archive").rglob("*.json")}
    assert archived == {f["path"] for f in files if f["outcome"] != "quarantined"}, \
        "a stray file in archive/"
    left = [n for n in os.listdir(data_dir / "drop") if not n.startswith(".")]
    assert left == [], f"left in drop/: {left[:5]}"
    assert queue_left == 0, f"{queue_left} sink items still queued or dead"
    return {"days_stored": len(days), "files_recorded": len(files),
            "files_stored": outcomes["stored"], "files_unchanged": outcomes["unchanged"],
            "files_quarantined": quarantined, "files_archived": len(archived),
            "sink_delivered": sink_rows}


def _points(text: str) -> dict[tuple[str, str], dict[int, float]]:
    doc = json.loads(text)
    out = {}
    for channel, stream in doc["datastreams"].items():
        out[(doc["serial"], channel)] = {
            int(datetime.fromisoformat(label).timestamp() * 1000): value
            for label, value in stream.items()}
    return out


def influx(vm_samples: dict, delivered: dict[tuple[str, str], str], ledger: list[dict]) -> dict:
    deliveries = {(r["serial"], r["reading_day"]): r for r in ledger if r["sink"] == "influxdb"}
    assert set(deliveries) == set(delivered), "a stored day the InfluxDB sink never delivered"
    exact = extra = points = 0
    seen: set[tuple[str, str, int]] = set()
    for key, text in delivered.items():
        assert deliveries[key]["day_hash"] == _sha(text)
        sent = deliveries[key]["deliveries"]
        for series, want in _points(text).items():
            got = vm_samples.get(series, {})
            for ts, value in want.items():
                values = got.get(ts, [])
                assert values, f"{series} {ts}: not in VictoriaMetrics"
                assert all(v == value for v in values), f"{series} {ts}: {values} != {value}"
                assert len(values) >= sent, f"{series} {ts}: {len(values)} < {sent} deliveries"
                points += 1
                if len(values) == sent:
                    exact += 1
                else:
                    extra += 1
                seen.add((*series, ts))
    strays = [(s, c, ts) for (s, c), series in vm_samples.items() for ts in series
              if (s, c, ts) not in seen]
    assert strays == [], f"points in VictoriaMetrics no delivered day has: {strays[:5]}"
    samples = sum(len(v) for series in vm_samples.values() for v in series.values())
    return {"points": points, "samples": samples, "exact": exact,
            "resent_in_crash_window": extra,
            "days_sent_twice": sum(1 for r in deliveries.values() if r["deliveries"] > 1)}


def mdms(requests: list[dict], delivered: dict[tuple[str, str], str]) -> dict:
    bodies: dict[str, set[str]] = {}
    outcomes = Counter(r["outcome"] for r in requests)
    versions: dict[tuple[str, str], set[str]] = {}
    for r in requests:
        if r["outcome"] == "incomplete":  # cut short by a Tempest killed mid-request
            continue
        bodies.setdefault(r["idempotency_key"], set()).add(r["sha256"])
        if r["outcome"] == "accepted":
            serial, day, _ = r["idempotency_key"].split(":")
            versions.setdefault((serial, day), set()).add(r["idempotency_key"])
            doc = json.loads(r["body"])
            assert doc["source_sha256"] == _sha(delivered[(serial, day)]), (serial, day)
    assert outcomes["conflict"] == 0, "one idempotency key came with two bodies"
    two = {k: v for k, v in bodies.items() if len(v) > 1}
    assert not two, f"keys that came with two bodies: {sorted(two)[:3]}"
    assert set(versions) == set(delivered), (
        f"missing at the MDMS: {sorted(set(delivered) - set(versions))[:5]}")
    assert all(len(v) == 1 for v in versions.values()), "a day version accepted twice"
    return {"requests": len(requests), "accepted": outcomes["accepted"],
            "duplicates_absorbed": outcomes["duplicate"],
            "cut_short_by_kills": outcomes["incomplete"],
            "refused_while_failing": sum(v for k, v in outcomes.items()
                                         if k not in ("accepted", "duplicate", "incomplete"))}


def secrets_written(roots: list[Path], secrets: dict[str, str], keepers: set[str]) -> list[str]:
    """Where any secret appears in a file under `roots`, except files whose job is to keep
    one (a meter's config, a keys file)."""
    found = []
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file() and p.name not in keepers:
                data = p.read_bytes()
                found += [f"{what} in {p}" for what, s in secrets.items() if s.encode() in data]
    return found
