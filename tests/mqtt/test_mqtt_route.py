"""The MQTT route against a real Mosquitto: a meter publishes its sealed days and intervals,
Tempest's subscriber drops the days byte for byte, and a broker restart or a subscriber away
loses nothing and stores nothing twice. Fixed dates only (the meter's `now` is injected)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from core import civil
from meter import operations
from meter.delivery import mqtt
from meter.delivery.redial import redial
from meter.delivery.route import deliver
from tests.meter.configs import cfg_of, family
from tests.mqtt.conftest import ENV
from tests.support.waiting import wait_for


def minute(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() // 60)


def meter_cfg(serial: str, broker, **mqtt_extra):
    # Half-hour intervals: few to compute, so the tests stay quick on a busy machine.
    raw = family(serial=serial, commissioned="2025-03-09", interval_min=30,
                 delivery={"mode": "mqtt"},
                 mqtt={"host": broker.host, "port": broker.port, "timeout_s": 3, **mqtt_extra})
    return cfg_of(raw)


def dropped(drop: Path) -> dict[str, list[bytes]]:
    """Reading day -> the bytes of each drop file for it."""
    out: dict[str, list[bytes]] = {}
    for p in sorted(drop.glob("*/*.json")):
        day = p.name.split("_", 1)[1][:10]
        out.setdefault(day, []).append(p.read_bytes())
    return out


def sent_days(root: Path) -> dict[str, bytes]:
    return {p.name.split("_", 1)[1][:10]: p.read_bytes() for p in (root / "sent").glob("*.json")}


def ingest(data_dir: Path, serial: str) -> dict:
    """Register the meter (Tempest takes days only of meters it knows), ingest the drop folder
    once, and return the outcomes ({"files": n, "<outcome>": n...})."""
    add = subprocess.run([sys.executable, "-m", "tempest", "meters", "add", serial, "--data-dir",
                          str(data_dir), "--timezone", "Europe/Berlin"], env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert add.returncode == 0, add.stderr
    # Settle 0: the subscriber's files appear whole (renamed into place), so a day dropped a
    # moment ago is taken now rather than left for a later scan.
    out = subprocess.run([sys.executable, "-m", "tempest", "ingest", "--data-dir", str(data_dir),
                          "--quiet"], env={**ENV, "TEMPEST_SETTLE_SECONDS": "0"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def archived(data_dir: Path, serial: str) -> dict[str, bytes]:
    """Reading day -> the bytes Tempest archived for it (named by content: one file per
    distinct version, so a day stored twice would show as two)."""
    files = sorted((data_dir / "archive" / serial).glob("*.json"))
    days = [p.name.split("_", 1)[1][:10] for p in files]
    assert len(days) == len(set(days)), days
    return {day: p.read_bytes() for day, p in zip(days, files, strict=True)}


def test_sealed_days_reach_tempest_byte_for_byte(tmp_path, broker, tempest_sub, listen):
    tempest_sub.start()
    live = listen("meters/mq-1/#")
    cfg, root = meter_cfg("mq-1", broker), tmp_path / "meter"
    operations.tick(cfg, root, minute("2025-03-10T00:30:00+01:00"))
    summary = operations.tick(cfg, root, minute("2025-03-13T01:00:00+01:00"))
    assert summary["sealed"] == ["2025-03-10", "2025-03-11", "2025-03-12"]

    res = deliver(cfg, root, minute("2025-03-13T01:00:00+01:00") * 60)

    assert res.error is None and len(res.sent) == 3 and res.pending == 0
    sent = sent_days(root)
    got = wait_for(lambda: (d := dropped(tempest_sub.drop)) and len(d) == 3 and d, timeout=20,
                   what="three days in the drop folder")
    assert got == {day: [data] for day, data in sent.items()}
    # The meter's retained state says it is online; each day went out once on its own topic.
    state = wait_for(lambda: live.on("meters/mq-1/state"), what="the state topic")
    assert json.loads(state[-1][1])["state"] == "online"
    for day, data in sent.items():
        got = wait_for(lambda day=day: live.on(f"meters/mq-1/day/{day}"), what=day)
        assert [m[1] for m in got] == [data]
    # The live intervals: the open day's two, in order, values as the day file has them.
    intervals = wait_for(lambda: live.on("meters/mq-1/interval"), what="intervals")
    docs = [json.loads(m[1]) for m in intervals]
    assert [d["end"] for d in docs] == ["2025-03-13T00:30:00+01:00", "2025-03-13T01:00:00+01:00"]
    assert all(d["reading_day"] == "2025-03-13" and d["status"] == "open" for d in docs)
    assert set(docs[0]["values"]) == {"Total", "Main", "Sub1"}
    assert ingest(tempest_sub.data_dir, "mq-1") == {"files": 3, "stored": 3}

    # A redial over MQTT sends a day again: it reaches the drop folder, and is not stored twice.
    out = redial(cfg, root, civil.parse_day("2025-03-11"), civil.parse_day("2025-03-11"),
                 minute("2025-03-13T01:00:00+01:00"))
    assert out["days_uploaded"] == 1 and out["error"] is None
    again = wait_for(lambda: dropped(tempest_sub.drop), what="the redialled day")
    assert again == {"2025-03-11": [sent["2025-03-11"]]}
    assert ingest(tempest_sub.data_dir, "mq-1")["files"] == 1
    assert archived(tempest_sub.data_dir, "mq-1") == sent


def test_a_broker_restart_and_tempest_away_lose_nothing_and_store_nothing_twice(
        tmp_path, broker, tempest_sub, listen):
    tempest_sub.start()
    live = listen("meters/mq-2/interval", client_id="test-intervals")
    cfg, root = meter_cfg("mq-2", broker), tmp_path / "meter"

    def tick_and_deliver(iso: str):
        now = minute(iso)
        summary = operations.tick(cfg, root, now)
        mqtt.after_tick(cfg, root, summary)
        return deliver(cfg, root, now * 60)

    tick_and_deliver("2025-03-10T23:00:00+01:00")
    assert tick_and_deliver("2025-03-11T00:30:00+01:00").sent == ["mq-2_2025-03-10.json"]
    wait_for(lambda: len(dropped(tempest_sub.drop)) == 1, what="the first day dropped")

    # Tempest away: the broker keeps the day for Tempest's session, across its own restart.
    tempest_sub.stop()
    assert tick_and_deliver("2025-03-12T00:30:00+01:00").sent == ["mq-2_2025-03-11.json"]
    broker.restart()

    # The broker down: the tick goes on, delivery gives up within its bound, nothing moves.
    broker.stop()
    began = time.monotonic()
    down = tick_and_deliver("2025-03-13T00:30:00+01:00")
    assert time.monotonic() - began < 3 + 2
    assert down.error and "not connected" in down.error
    assert down.pending == 1 and (root / "outbox" / "mq-2_2025-03-12.json").exists()

    broker.start()
    tempest_sub.start()
    # The meter's connection comes back by itself (paho's reconnection, capped backoff).
    wait_for(lambda: mqtt.publisher(cfg).connected, timeout=60, what="the meter reconnected")
    back = tick_and_deliver("2025-03-13T01:30:00+01:00")
    assert back.sent == ["mq-2_2025-03-12.json"] and back.error is None

    sent = sent_days(root)
    got = wait_for(lambda: (d := dropped(tempest_sub.drop)) and len(d) == 3 and d, timeout=30,
                   what="three days in the drop folder")
    assert got == {day: [data] for day, data in sent.items()}
    assert ingest(tempest_sub.data_dir, "mq-2") == {"files": 3, "stored": 3}
    assert archived(tempest_sub.data_dir, "mq-2") == sent

    # Intervals recorded while the broker was down went out once it was back: no gap from
    # the first published interval to the last recorded one.
    ends = wait_for(lambda: (e := [json.loads(m[1])["end"] for m in live.on(
        "meters/mq-2/interval")]) and e[-1] == "2025-03-13T01:30:00+01:00" and e,
        timeout=20, what="the intervals up to the last tick")
    stamps = [datetime.fromisoformat(e).timestamp() for e in ends]
    unique = sorted(set(stamps))
    assert all(b - a == 1800 for a, b in zip(unique, unique[1:], strict=False)), ends
    assert unique[0] <= datetime.fromisoformat("2025-03-10T23:00:00+01:00").timestamp()


def test_the_last_will_is_the_meters_last_gasp_when_it_is_killed(tmp_path, broker, listen):
    """`meter run` keeps its connection: killed with SIGKILL, it cannot say goodbye, and the
    broker publishes its Last Will on the retained state topic."""
    state = listen("meters/mq-3/+", client_id="test-state")
    raw = family(serial="mq-3", commissioned="2025-03-09", interval_min=30,
                 delivery={"mode": "mqtt"},
                 mqtt={"host": broker.host, "port": broker.port, "timeout_s": 3})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    proc = subprocess.Popen([sys.executable, "-m", "meter", "run", "--config", str(path),
                             "--at", "2025-03-10T01:00:00+01:00", "--heartbeat-every", "1"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        online = wait_for(lambda: [json.loads(m[1]) for m in state.on("meters/mq-3/state")],
                          timeout=60, what="the meter online")
        assert online[-1]["state"] == "online"
        beat = wait_for(lambda: state.on("meters/mq-3/heartbeat"), what="a heartbeat")
        assert json.loads(beat[-1][1])["serial"] == "mq-3"
        ends = wait_for(lambda: [json.loads(m[1])["end"] for m in state.on(
            "meters/mq-3/interval")], what="the intervals")
        assert ends[:2] == ["2025-03-10T00:30:00+01:00", "2025-03-10T01:00:00+01:00"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    gasp = wait_for(lambda: (s := [json.loads(m[1]) for m in state.on("meters/mq-3/state")])
                    and s[-1]["state"] == "offline" and s, timeout=20, what="the last gasp")
    assert gasp[-1] == {"serial": "mq-3", "state": "offline", "reason": "last gasp"}
    # Retained: a client arriving now learns at once that the meter is gone.
    late = listen("meters/mq-3/state", client_id="test-late")
    got = wait_for(lambda: late.on("meters/mq-3/state"), what="the retained state")
    assert got[-1][2] is True and json.loads(got[-1][1])["state"] == "offline"


def test_cron_commands_publish_and_leave_without_a_last_gasp(tmp_path, broker, tempest_sub,
                                                              listen):
    """A cron meter: `meter tick`, `meter deliver` and `meter heartbeat` are short processes.
    Each waits (bounded) for its fresh connection, publishes, and says goodbye on exit, so the
    retained state stays "online" between runs instead of a last gasp every minute."""
    tempest_sub.start()
    live = listen("meters/mq-4/#", client_id="test-cron")
    raw = family(serial="mq-4", commissioned="2025-03-09", interval_min=30,
                 delivery={"mode": "mqtt"},
                 mqtt={"host": broker.host, "port": broker.port, "timeout_s": 10})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))

    def meter(*args: str, at: str) -> None:
        out = subprocess.run([sys.executable, "-m", "meter", *args, "--config", str(path),
                              "--at", at], env=ENV, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr

    meter("tick", at="2025-03-10T23:30:00+01:00")
    meter("tick", at="2025-03-11T00:30:00+01:00")
    meter("deliver", at="2025-03-11T00:30:00+01:00")
    meter("heartbeat", at="2025-03-11T00:31:00+01:00")
    day = (tmp_path / "sent" / "mq-4_2025-03-10.json").read_bytes()
    files = wait_for(lambda: list(tempest_sub.drop.glob("mq-4/mq-4_2025-03-10.*.json")),
                     what="the day in the drop folder")
    assert [f.read_bytes() for f in files] == [day]
    beat = wait_for(lambda: live.on("meters/mq-4/heartbeat"), what="the heartbeat")
    assert json.loads(beat[-1][1])["serial"] == "mq-4"
    assert wait_for(lambda: live.on("meters/mq-4/interval"), what="intervals")
    states = [json.loads(m[1])["state"] for m in live.on("meters/mq-4/state")]
    assert states and set(states) == {"online"}, states


def test_bad_topics_and_another_meters_day_are_not_stored(tmp_path, broker, tempest_sub,
                                                          listen):
    """The topic is not trusted: bad names are dropped, and a day published under one meter's
    topic but holding another meter's readings is quarantined by ingest, never stored."""
    tempest_sub.start()
    other = listen("meters/none", client_id="test-intruder")
    days = {}
    for serial in ("mq-5", "mq-6"):
        cfg, root = meter_cfg(serial, broker), tmp_path / serial
        operations.tick(cfg, root, minute("2025-03-10T00:30:00+01:00"))
        operations.tick(cfg, root, minute("2025-03-11T00:30:00+01:00"))
        days[serial] = (root / "outbox" / f"{serial}_2025-03-10.json").read_bytes()
    other.publish("meters/../day/2025-03-10", days["mq-5"])
    other.publish("meters/mq-5/day/2025-13-40", days["mq-5"])
    other.publish("meters/mq-5/day/2025-03-10/x", days["mq-5"])
    other.publish("meters/mq-5/day/2025-03-09", days["mq-6"])  # mq-6's day in mq-5's name
    other.publish("meters/mq-5/day/2025-03-10", days["mq-5"])  # the only good one
    wait_for(lambda: len(list(tempest_sub.drop.glob("*/*.json"))) == 2, what="two files")
    # Nothing but mq-5's folder: the bad names never reached the drop folder.
    assert sorted(p.relative_to(tempest_sub.drop).parts[0]
                  for p in tempest_sub.drop.rglob("*.json")) == ["mq-5", "mq-5"]
    subprocess.run([sys.executable, "-m", "tempest", "meters", "add", "mq-6", "--data-dir",
                    str(tempest_sub.data_dir)], env=ENV, capture_output=True, check=True,
                   timeout=120)
    assert ingest(tempest_sub.data_dir, "mq-5") == {"files": 2, "stored": 1, "quarantined": 1}
    assert archived(tempest_sub.data_dir, "mq-5") == {"2025-03-10": days["mq-5"]}
    assert archived(tempest_sub.data_dir, "mq-6") == {}
