"""Heartbeats of a ledger host's meters (`meter run --count N --ledger`), through its concentrator.

A per-meter heartbeat reads the meter's journal and state and checks its whole config; for
100,000 meters a minute that would cost more than the tick. A ledger host knows the same
facts more cheaply:
- `last_tick` is the ledger's `done` minute (every meter has recorded its intervals up to it);
- `config_hash` is the hash of the meter's derived config (bulk.derive_keyed), computed once
  per meter and kept: the base config was checked when the host started, and deriving only
  changes serial, seed and archetype;
- `outbox_backlog` counts the meter's outbox; `free_disk_bytes` is read once per batch.

Each meter beats once per `period_min` minutes, in a slot of its own (meter i in the slots
where minute % period == i % period), so a host spreads its beats evenly instead of sending
them all at once; Tempest's online threshold (TEMPEST_ONLINE_SECONDS) must exceed the period.
The meter's clock is the host's (a per-meter clock-drift fault does not show in a ledger
host's heartbeats; docs/scaling.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from core import __version__, tz
from core.configdoc import config_hash
from meter import bulk, clock
from meter.delivery.concentrator import Concentrator, send_heartbeat_docs
from meter.delivery.status import free_disk_bytes


def _backlog(outbox: str) -> int:
    try:
        with os.scandir(outbox) as it:
            return sum(1 for e in it if not e.name.startswith(".") and e.name.endswith(".json"))
    except FileNotFoundError:
        return 0


class LedgerBeats:
    def __init__(self, host, concentrator: Concentrator, period_min: int):
        self.host = host
        self.concentrator = concentrator
        self.period = max(1, int(period_min))
        self._hashes: dict[int, str] = {}
        self.last_slot: int | None = None  # the last wall-clock minute whose beats went out

    def config_hash(self, i: int) -> str:
        found = self._hashes.get(i)
        if found is None:
            h = self.host
            found = config_hash(bulk.derive_keyed(h.base, h.keys, i, h.mix))
            self._hashes[i] = found
        return found

    def meters_in_slot(self, minute: int) -> range:
        """The meters (1-based) that beat in wall-clock minute `minute`."""
        first = (minute - 1) % self.period + 1
        return range(first, self.host.count + 1, self.period)

    def payloads(self, meters, now_s: float) -> list[dict]:
        host = self.host
        zone = host.grid.zone
        minute = int(now_s // 60)
        stamp = clock.iso(now_s, zone.offset_at(minute))
        done = host.ledger["done"] if host.ledger is not None else None
        last_tick = tz.label(zone, done) if done is not None else None
        free = free_disk_bytes(host.data_dir)
        docs = []
        for i in meters:
            root = str(host.root(i))
            doc = {"serial": host.serial(i), "kind": "pi", "version": __version__,
                   "config_hash": self.config_hash(i), "timestamp": stamp,
                   "outbox_backlog": _backlog(os.path.join(root, "outbox"))}
            if last_tick is not None:
                doc["last_tick"] = last_tick
            if free is not None:
                doc["free_disk_bytes"] = free
            docs.append(doc)
        return docs

    def due(self, minute: int) -> list[int]:
        """The wall-clock minutes whose slots are still to send, oldest first."""
        if self.last_slot is None or minute <= self.last_slot:
            return [] if self.last_slot == minute else [minute]
        # After a long cycle, the missed slots, but never a meter twice in one catch-up.
        start = max(self.last_slot + 1, minute - self.period + 1)
        return list(range(start, minute + 1))

    def beat(self, wall_s: float, now_of: Callable[[], float]) -> dict:
        """Send the beats of every slot due by wall-clock second `wall_s`; never raises.
        now_of: the meters' "now" (scaled when the host runs a scaled clock)."""
        minute = int(wall_s // 60)
        sent = failed = 0
        for slot in self.due(minute):
            meters = self.meters_in_slot(slot)
            if not meters:
                continue
            results = send_heartbeat_docs(self.concentrator, self.payloads(meters, now_of()))
            sent += sum(1 for r in results if r["sent"])
            failed += sum(1 for r in results if not r["sent"])
        self.last_slot = minute
        return {"heartbeats_sent": sent, "heartbeats_failed": failed}
