"""MQTT: a meter publishes its sealed days, live intervals, heartbeats and events to a broker.

Topics under `<prefix>/<serial>/` (docs/protocol.md, "MQTT"):

  state             retained: {"state": "online"} on every connect; the Last Will (the meter's
                    last gasp) replaces it with {"state": "offline"} when the connection dies
  heartbeat         retained: the heartbeat document Tempest's HTTP route receives
  interval          retained (the latest): one interval's readings as it is recorded
  event             tick events: a day sealed, a day lost to an outage
  day/<YYYY-MM-DD>  the sealed day file, its exact bytes (delivery.mode "mqtt"), QoS 1

A broker that is down never blocks or breaks the tick: the connection is made in paho's own
thread (connect_async), publishing while it is down is skipped at once, and a wait for the
broker's acknowledgements is bounded by `mqtt.timeout_s`. Nothing is lost meanwhile: a sealed
day leaves the outbox (for sent/) only once the broker acknowledged it (PUBACK), and intervals
are published from the day files and the journal after a cursor (`mqtt.json`) that moves only
over acknowledged messages, so whatever the broker missed goes out on a later pass. Something
acknowledged may be sent again after a crash (at-least-once): Tempest's ingest stores the same
day once, and an interval carries its own end time.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from core.durable import write_atomic
from meter import openday
from meter.config import Config
from meter.delivery import checks
from meter.delivery.events import Events, now_iso
from meter.delivery.folders import Busy, Folders, parse_name
from meter.delivery.mqtt_client import (  # noqa: F401 - close_all: meter run closes through here
    Publisher,
    close_all,
    compact_json,
    publisher,
)
from meter.delivery.result import PassResult

log = logging.getLogger("meter.mqtt")

CURSOR_NAME = "mqtt.json"
# Intervals published per pass at most: a meter back after a long outage catches up over a few
# passes instead of holding one pass for minutes.
MAX_INTERVALS_PER_PASS = 2000


# -- sealed days: delivery.mode "mqtt" -----------------------------------------------------------


def deliver_pass(cfg: Config, root, now: float, force: bool = False) -> PassResult:
    """Publish each sealed day in the outbox (oldest first) on day/<reading_day>, QoS 1, and
    move it to sent/ once the broker acknowledged it. Then the live intervals. Waits at most
    `timeout_s` for a fresh connection (Publisher.ready) and as much for each day's
    acknowledgement."""
    res = PassResult(cfg.serial, "mqtt")
    pub = publisher(cfg)
    folders = Folders(root)
    events = Events(folders.root, cfg.serial)
    if pub is None:
        res.error = "no mqtt settings in the config: nowhere to publish to"
        events.record("error", reason=res.error)
        return res
    folders.ensure()
    if not pub.ready():
        res.error = f"broker {pub.s.host}:{pub.s.port} not connected"
        events.record("retry", reason=res.error)
        res.pending = folders.backlog()
        return res
    try:
        with folders.lock():
            _days(cfg, pub, folders, events, res)
    except Busy as exc:
        res.error = str(exc)
    if res.error is None:
        publish_intervals(cfg, root, pub)
    res.pending = folders.backlog()
    return res


def _days(cfg: Config, pub: Publisher, folders: Folders, events: Events,
          res: PassResult) -> None:
    from meter.delivery.upload import reject

    for entry in folders.pending():
        path = folders.outbox / entry.name
        try:
            data = path.read_bytes()
        except OSError:
            continue  # gone (a redial sent it) or unreadable: not this pass's verdict
        try:
            checks.check(data, cfg.serial, entry)
        except checks.Problem as exc:
            reject(events, folders, res, entry.name, data, {**exc.as_dict(), "time": now_iso()})
            continue
        info = pub.publish(("day", entry.day), data, qos=1)
        if not pub.wait_acked([info], pub.s.timeout_s):
            res.error = "the broker did not acknowledge " + entry.name
            events.record("retry", entry.name, reason=res.error)
            return  # later days wait: they never overtake an earlier one
        folders.to_sent(entry.name, data)
        events.record("sent", entry.name, route="mqtt")
        res.sent.append(entry.name)


def send_days(cfg: Config, items: list) -> tuple[list, str | None]:
    """A redial (meter/delivery/redial.py): publish each item's bytes on day/<item.day> and
    wait for its PUBACK. ([(item, "sent", None)...], the error that stopped it or None)."""
    pub = publisher(cfg)
    if pub is None:
        return [], "no mqtt settings in the config: nowhere to publish to"
    if not pub.ready():
        return [], f"broker {pub.s.host}:{pub.s.port} not connected"
    done = []
    for item in items:
        info = pub.publish(("day", item.day), item.data, qos=1)
        if not pub.wait_acked([info], pub.s.timeout_s):
            return done, "the broker did not acknowledge " + item.name
        done.append((item, "sent", None))
    return done, None


# -- live intervals, heartbeats, events ----------------------------------------------------------


def _cursor(root: Path) -> float | None:
    try:
        return float(json.loads((root / CURSOR_NAME).read_text())["intervals_through"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_cursor(root: Path, through: float) -> None:
    # Not fsynced: a cursor lost in a crash only sends a few intervals again.
    write_atomic(root / CURSOR_NAME, compact_json({"intervals_through": through}), durable=False)


def _day_files(cfg: Config, root: Path, from_day: str | None) -> list[bytes]:
    """Sealed days from `from_day` on (any of outbox, held, sent), oldest first, then the open
    day. With no cursor yet, only the newest day: a meter does not replay its history."""
    folders = Folders(root)
    sealed: dict[str, Path] = {}
    for folder in (folders.sent, folders.held, folders.outbox):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for n in names:
            e = parse_name(n)
            if e.day and e.serial == cfg.serial and (from_day is None or e.day >= from_day):
                sealed[e.day] = folder / n
    out = []
    for day in sorted(sealed):
        try:
            out.append(sealed[day].read_bytes())
        except OSError:
            continue
    got = openday.render(cfg, root)
    if got is not None:
        out.append(got[1])
    return out if from_day is not None else out[-1:]


def _intervals(data: bytes, after: float | None):
    """(end as epoch seconds, payload) of each interval of a day file ending after `after`."""
    doc = json.loads(data, parse_float=Decimal)
    streams, quality = doc["datastreams"], doc.get("quality") or {}
    ends = sorted({e for s in streams.values() for e in s},
                  key=lambda e: datetime.fromisoformat(e).timestamp())
    for end in ends:
        t = datetime.fromisoformat(end).timestamp()
        if after is not None and t <= after:
            continue
        q = {ch: qs[end] for ch, qs in quality.items() if end in qs}
        head = {"serial": doc["serial"], "reading_day": doc["reading_day"], "end": end,
                "status": doc["status"], "unit": doc.get("unit", "kWh")}
        if q:
            head["quality"] = q
        # kWh exactly as the day file writes them (3 decimals), never a float's noise.
        values = ",".join(f"{json.dumps(ch)}:{'null' if s.get(end) is None else s[end]}"
                          for ch, s in streams.items())
        text = json.dumps(head, sort_keys=True, separators=(",", ":"))[:-1]
        text += ',"values":{' + values + "}}"
        yield t, text.encode()


def publish_intervals(cfg: Config, root, pub: Publisher | None = None) -> int:
    """Publish the intervals recorded since the cursor; returns how many were acknowledged.
    Returns at once when the broker is not connected."""
    pub = pub or publisher(cfg)
    if pub is None or not pub.connected:
        return 0
    root = Path(root)
    after = _cursor(root)
    from_day = None
    if after is not None:
        # Reading days are local: two days back covers any zone's day that holds `after`.
        from_day = datetime.fromtimestamp(after - 2 * 86400, UTC).date().isoformat()
    batch: list[tuple[float, object]] = []
    for data in _day_files(cfg, root, from_day):
        try:
            items = list(_intervals(data, after))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("%s: a day file not published as intervals: %s", cfg.serial, exc)
            continue
        for t, payload in items:
            if batch and t <= batch[-1][0]:
                continue  # a day seen twice (sealed and still open for a moment)
            batch.append((t, pub.publish("interval", payload, pub.s.qos, retain=True)))
            if len(batch) >= MAX_INTERVALS_PER_PASS:
                break
        if len(batch) >= MAX_INTERVALS_PER_PASS:
            break
    if not batch:
        return 0
    if pub.s.qos == 0:  # no acknowledgement to wait for: handed to the socket is done
        done = next((i for i, (_, info) in enumerate(batch) if info is None), len(batch))
    else:
        done = pub.wait_acked([info for _, info in batch], pub.s.timeout_s)
    if done:
        _save_cursor(root, batch[done - 1][0])
    return done


def after_tick(cfg: Config, root, summary: dict) -> None:
    """`meter run`, after each tick: the tick's events and the new intervals. Never waits
    for a broker that is not connected."""
    pub = publisher(cfg)
    if pub is None or not pub.connected:
        return
    for day in summary.get("sealed", []):
        publish_event(cfg, {"event": "day_sealed", "reading_day": day}, pub)
    for day in summary.get("skipped_outage", []):
        publish_event(cfg, {"event": "outage_day", "reading_day": day}, pub)
    publish_intervals(cfg, root, pub)


def publish_event(cfg: Config, doc: dict, pub: Publisher | None = None) -> bool:
    pub = pub or publisher(cfg)
    if pub is None:
        return False
    body = {"serial": cfg.serial, "time": now_iso(), **doc}
    return pub.publish("event", compact_json(body), pub.s.qos) is not None


def publish_heartbeat(cfg: Config, doc: dict) -> bool:
    """Retained: a subscriber arriving later sees each meter's latest heartbeat at once."""
    pub = publisher(cfg)
    if pub is None or not pub.ready():
        return False
    return pub.publish("heartbeat", compact_json(doc), pub.s.qos, retain=True) is not None
