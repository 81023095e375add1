"""Redials: send a range of past days again, because the head-end asked (`meter redial`, the
agent's POST /redial and POST /day).

Each day comes from the first place that has it: sent/ (the very bytes delivered before),
outbox/ (not delivered yet: it moves to sent/ once Tempest has it), held/ (kept back by a
late-delivery fault; a redial is an explicit request, so it is answered, and the held copy is
still released later, as a duplicate Tempest dedupes), and only then regenerated with the
vectorised engine, byte for byte what the tick wrote (meter/daybuild.py). A regenerated day
that went out is kept in sent/, so a later redial sends the same bytes even if the config
has changed since.

Redials ignore the backoff (someone is asking now) and do not change it. They go by the
meter's delivery mode: HTTP, rsync through a staging folder of their own, or MQTT.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core import civil, tz
from meter import daybuild, openday, registers
from meter.config import Config
from meter.delivery import settings
from meter.delivery.events import Events
from meter.delivery.folders import Busy, Folders, day_file_name
from meter.delivery.rsync import run_rsync
from meter.delivery.transport import REJECTED, SENT, Tempest


class RedialError(ValueError):
    """A request that cannot be carried out as asked (no route configured, bad range)."""


@dataclass
class Item:
    day: str
    name: str
    source: str  # "sent", "outbox", "held", "open" or "regenerated"
    data: bytes


def _zone(cfg: Config) -> tz.Zone:
    return tz.Zone(cfg.model["timezone"], cfg.model["tz_rules"])


def _open_item(cfg: Config, folders: Folders, day: str) -> Item | None:
    """The open day as far as it goes, built from its journal now (meter/openday.py)."""
    got = openday.render(cfg, folders.root, civil.parse_day(day))
    if got is None:
        return None
    return Item(day, day_file_name(cfg.serial, day), "open", got[1])


def collect(cfg: Config, root: Path, first: int, last: int, now_min: int,
            include_open: bool = False) -> tuple[list[Item], list[dict]]:
    """The files to send for days first..last, and a note for each day that has none."""
    folders = Folders(root)
    zone = _zone(cfg)
    items: list[Item] = []
    notes: list[dict] = []
    regen: list[int] = []
    for d in range(first, last + 1):
        day = civil.format_day(d)
        if zone.day_start(d + 1) > now_min:
            item = _open_item(cfg, folders, day) if include_open else None
            if item is not None:
                items.append(item)
            else:
                notes.append({"day": day, "status": "not_over",
                              "reason": "the day is not over yet at the meter's clock"})
            continue
        found = folders.find_sealed(cfg.serial, day)
        if found is None:
            regen.append(d)
            continue
        try:
            items.append(Item(day, found[1].name, found[0], found[1].read_bytes()))
        except OSError:
            regen.append(d)
    commissioned = cfg.model["commissioned_day"]
    for d in [d for d in regen if d < commissioned]:
        notes.append({"day": civil.format_day(d), "status": "before_commissioning",
                      "reason": "the meter was not commissioned yet"})
    regen = [d for d in regen if d >= commissioned]
    if regen:
        wanted = set(regen)
        try:
            opening = registers.opening(cfg, regen[0], root)
        except OSError:
            # The registers cache could not be written (a full disk): compute without it.
            opening = registers.opening(cfg, regen[0])
        except registers.NegativeRegisters as exc:
            notes.extend({"day": civil.format_day(d), "status": "no_registers",
                          "reason": str(exc)} for d in regen)
            regen = []
        for built in (daybuild.build_days(cfg, regen[0], regen[-1], opening) if regen else ()):
            if built.day not in wanted:
                continue
            day = civil.format_day(built.day)
            if built.text is None:
                notes.append({"day": day, "status": "outage",
                              "reason": "the meter recorded nothing that day (outage)"})
            else:
                items.append(Item(day, day_file_name(cfg.serial, day), "regenerated",
                                  built.text.encode()))
    items.sort(key=lambda i: i.day)
    return items, notes


def redial(cfg: Config, root, first: int, last: int, now_min: int,
           include_open: bool = False) -> dict:
    """Send days first..last again. {"days_uploaded": n, "days": [...], "error": ...}."""
    if last < first:
        raise RedialError("the range ends before it starts")
    s = settings.delivery(cfg)
    if s.demo:
        raise RedialError(settings.DEMO_REASON)
    if s.mode == "http" and not s.tempest_url:
        raise RedialError("no tempest_url in the config: nowhere to send to")
    if s.mode == "rsync" and not s.rsync_target:
        raise RedialError("no delivery.rsync_target in the config: nowhere to send to")
    if s.mode == "none":
        raise RedialError("delivery.mode is 'none': this meter does not send files")
    folders = Folders(root)
    folders.ensure()
    events = Events(folders.root, cfg.serial)
    try:
        with folders.lock():
            items, notes = collect(cfg, folders.root, first, last, now_min, include_open)
            if s.mode == "mqtt":
                from meter.delivery.mqtt import send_days  # paho only where a meter uses it

                done, error = send_days(cfg, items)
            else:
                send = _send_http if s.mode == "http" else _send_rsync
                done, error = send(s, folders, items)
            for item, status, reason in done:
                _after(folders, events, item, status, reason)
    except Busy as exc:
        return {"days_uploaded": 0, "days": [], "error": str(exc)}
    details = sorted(notes + [{"day": i.day, "file": i.name, "source": i.source,
                               "status": st, **({"reason": r} if r else {})}
                              for i, st, r in done], key=lambda x: x["day"])
    uploaded = sum(1 for _, st, _ in done if st == SENT)
    return {"days_uploaded": uploaded, "days": details, "error": error,
            "from": civil.format_day(first), "to": civil.format_day(last)}


def _send_http(s, folders: Folders, items: list[Item]):
    done = []
    client = Tempest(s.tempest_url, s.api_key, s.timeout_s)
    try:
        for item in items:
            out = client.post_day(item.data)
            if out.kind not in (SENT, REJECTED):
                return done, out.reason  # Tempest is not answering: the rest would fail too
            done.append((item, out.kind, None if out.kind == SENT else out.reason))
    finally:
        client.close()
    return done, None


def _send_rsync(s, folders: Folders, items: list[Item]):
    if not items:
        return [], None
    # A staging folder of its own (hidden, so nothing else delivers from it), holding each
    # day under its final name; removed afterwards.
    stage = folders.root / f".redial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        for item in items:
            (stage / item.name).write_bytes(item.data)
        run = run_rsync(s, stage, [i.name for i in items])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if not run.ok:
        return [], run.reason
    return [(i, SENT if i.name in run.transferred else "not_sent", None) for i in items], None


def _after(folders: Folders, events: Events, item: Item, status: str, reason: str | None):
    if status == SENT:
        try:
            if item.source == "outbox":
                folders.to_sent(item.name, item.data)
            elif item.source == "regenerated":
                folders.keep_sent_copy(item.name, item.data)
        except OSError as exc:
            events.record("error", item.name, reason=f"redialled, but cannot keep it in "
                          f"sent/: {exc}")
        events.record("redialled", item.name, source=item.source)
    else:
        events.record("rejected" if status == REJECTED else "error", item.name,
                      reason=reason or f"redial: {status}", source=item.source)
