"""What a meter says about itself: the heartbeat's fields and the agent's `GET /`.

Everything here only reads (a heartbeat every minute must never change the meter's files or
wait for the tick), and nothing here raises for a missing or damaged file: a status with a
field missing is better than no status.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit

from core import __version__, tz
from loadmodel import journal_reader
from loadmodel.engine import MeterModel
from meter import clock
from meter.config import Config
from meter.delivery import settings, state
from meter.delivery.folders import Folders


def _zone(cfg: Config) -> tz.Zone:
    return tz.Zone(cfg.model["timezone"], cfg.model["tz_rules"])


def meter_clock(cfg: Config, now: float) -> str:
    """The meter's own clock, ISO 8601 with its zone's offset. A meter with the clock-drift
    fault reports its drifted time, as a real one would (Tempest records the skew)."""
    model = MeterModel(cfg.model)
    minute = int(now // 60)
    drift_min = model.drift(model.zone.day_of(minute))
    shown = now + drift_min * 60
    return clock.iso(shown, model.zone.offset_at(int(shown // 60)))


def last_tick(cfg: Config, root: Path) -> str | None:
    """The end of the last interval the meter wrote, ISO 8601 with offset (None before the
    first tick). Read from the open day's journal, else from where the state says the next day
    starts (every earlier day is sealed)."""
    root = Path(root)
    zone = _zone(cfg)
    n = cfg.model["interval"]
    data = root / "data"
    with contextlib.suppress(OSError, ValueError):
        journals = sorted(p for p in data.iterdir() if p.name.endswith(".journal"))
        if journals:
            with open(journals[-1], encoding="ascii", newline="") as f:
                od, _ = journal_reader.replay(f)
            if od is not None and od.last >= 0:
                return tz.label(zone, zone.day_start(od.day) + (od.last + 1) * n)
            if od is not None:
                return tz.label(zone, zone.day_start(od.day))
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        st = json.loads((root / "state.json").read_text())
        return tz.label(zone, zone.day_start(int(st["registers_day"])))
    return None


def free_disk_bytes(root: Path) -> int | None:
    try:
        return shutil.disk_usage(root).free
    except OSError:
        return None


def _specific(host: str | None) -> bool:
    try:
        return host is not None and not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return bool(host)  # a host name


def address(cfg: Config) -> str | None:
    """The meter's address: `ip` from the config, else the agent's bind address (the lab runs
    each meter on its own loopback address), else the local address this host would use to
    reach Tempest (a UDP 'connect' sends nothing, it only picks the route)."""
    if cfg.raw.get("ip"):
        return cfg.raw["ip"]
    # Only a bind address someone chose says where the meter is; the default (loopback) does not.
    host = (cfg.raw.get("agent") or {}).get("host")
    if _specific(host):
        return host
    url = settings.delivery(cfg).tempest_url
    if not url:
        return None
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = infos[0]
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(sockaddr)
            return s.getsockname()[0]
    except (OSError, IndexError):
        return None


def counts(root: Path) -> dict:
    f = Folders(root)
    return {"outbox_backlog": f.backlog(), "held": f.count(f.held),
            "sent": f.count(f.sent), "rejected": f.count(f.rejected)}


def report(cfg: Config, root: Path, now: float) -> dict:
    """The heartbeat's fields (docs/protocol.md) plus the delivery state."""
    st = state.load(root)
    c = counts(root)
    doc = {
        "serial": cfg.serial,
        "kind": "pi",
        "version": __version__,
        "config_hash": cfg.hash(),
        "address": address(cfg),
        "agent_url": settings.agent_url(cfg) if cfg.raw.get("agent") else None,
        "timestamp": meter_clock(cfg, now),
        "last_tick": last_tick(cfg, root),
        "free_disk_bytes": free_disk_bytes(root),
        "outbox_backlog": c["outbox_backlog"],
    }
    extra = {"held": c["held"], "sent": c["sent"], "rejected": c["rejected"],
             "delivery": {"mode": settings.delivery(cfg).mode, "failures": st.failures,
                          "last_error": st.last_error}}
    return {k: v for k, v in doc.items() if v is not None} | extra
