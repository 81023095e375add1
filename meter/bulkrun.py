"""`meter run --count N --ledger`: a ledger host's schedule in one long-running process.

Each cycle: record every meter's intervals up to now and seal the days that are over, for at
most `budget_s` seconds (meter/bulkhost.py), then deliver what was sealed until the cycle has
used about 55 s: through the host's concentrator in batches when its base config has one
(docs/concentrator.md), else meter by meter. While days are left to seal the next cycle
starts at once; otherwise the loop sleeps until the next interval boundary. Behind a
concentrator the meters' heartbeats go out in batches built from the ledger, each meter once
per `--heartbeat-every` of wall-clock time, spread evenly over it (meter/bulkbeat.py); a
ledger host without a concentrator sends none (one request per meter would cost more than
its ticks).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

from meter import clock
from meter.bulkhost import BulkHost
from meter.config import Config
from meter.operations import Busy

log = logging.getLogger("meter.run")
CYCLE_S = 55.0  # sealing and delivery together stay under a minute
BATCH = 200  # meters per delivery batch (their configs are built for it, then dropped)


def _has_outbox(root: Path) -> bool:
    try:
        with os.scandir(root / "outbox") as it:
            return any(not e.name.startswith(".") for e in it)
    except FileNotFoundError:
        return False


class LedgerLoop:
    def __init__(self, host: BulkHost, at: str | None, deliver: bool = True,
                 budget_s: float = 40.0, echo=None, heartbeat_s: float = 60.0, wall=time.time):
        self.host = host
        self.at = at
        self.deliver = deliver
        self.budget_s = budget_s
        self.echo = echo or (lambda line: print(line, flush=True))
        self.stopping = False
        self.cycles = 0
        # After a start, any meter may have days waiting in its outbox.
        self.pending: set[int] = set(range(1, host.count + 1)) if deliver else set()
        self._concentrator = None
        self.wall = wall
        self.beats = self._heartbeats(heartbeat_s)

    def _heartbeats(self, heartbeat_s: float):
        from meter.delivery import concentrator, settings

        cfg = self.host.config_of(1)
        c = concentrator.of(cfg)
        if c is None or not settings.delivery(cfg).heartbeat_enabled:
            return None
        from meter.bulkbeat import LedgerBeats

        return LedgerBeats(self.host, c, max(1, round(heartbeat_s / 60)))

    def heartbeat(self) -> dict:
        if self.beats is None or self.stopping:
            return {}
        try:
            return self.beats.beat(self.wall(), self.now_s)
        except Exception as exc:  # noqa: BLE001 - heartbeats never stop the host
            log.exception("heartbeats failed")
            return {"heartbeats_error": str(exc)}

    def stop(self, *_args) -> None:
        self.stopping = True

    def now_s(self, cfg: Config | None = None) -> float:
        return clock.now_seconds(self.at, (cfg or self.host.base_cfg).raw)

    def cycle(self) -> dict:
        t0 = time.monotonic()
        try:
            summary = self.host.tick(int(self.now_s() // 60), self.budget_s)
        except Busy as exc:
            log.warning("%s", exc)
            summary = {"meters_due": 0, "busy": True}
        except OSError as exc:  # a full disk: nothing is lost; the next cycle tries again
            log.error("cannot write the ledger: %s", exc)
            summary = {"meters_due": 0, "error": str(exc)}
        self.pending.update(self.host.last_sealed)
        if self.deliver:
            summary["meters_delivered"] = self._deliver(t0 + CYCLE_S)
        summary.update(self.heartbeat())
        summary["cycle_seconds"] = round(time.monotonic() - t0, 3)
        self.cycles += 1
        return summary

    def _deliver(self, deadline: float) -> int:
        host = self.host
        todo = [i for i in sorted(self.pending) if _has_outbox(host.root(i))]
        self.pending.intersection_update(todo)
        done = 0
        for k in range(0, len(todo), BATCH):
            # At least one batch a cycle, however long the sealing took: delivery keeps up.
            if self.stopping or (k and time.monotonic() >= deadline):
                break
            items = [(host.config_of(i), host.root(i)) for i in todo[k:k + BATCH]]
            try:
                self._send(items)
            except Exception:  # noqa: BLE001 - the loop goes on; the reason is logged
                log.exception("delivery of %s... failed", items[0][0].serial)
            for i in todo[k:k + BATCH]:
                if not _has_outbox(host.root(i)):
                    self.pending.discard(i)
                    done += 1
        return done

    def _send(self, items: list) -> None:
        from meter.delivery import concentrator

        if self._concentrator is None:
            self._concentrator = concentrator.of(items[0][0]) or False
        if self._concentrator:
            from meter.delivery.batchpass import batch_pass

            batch_pass(self._concentrator, items, self.now_s)
            return
        from meter.delivery.route import deliver

        for cfg, root in items:
            deliver(cfg, root, self.now_s(cfg), False)

    def seconds_to_next(self) -> float:
        raw = self.host.base_cfg.raw
        scale = raw.get("time_scale", 1) if raw.get("time_origin") else 1
        interval_s = self.host.n * 60
        now_s = self.now_s()
        return max(0.05, min((interval_s - now_s % interval_s) / scale + 0.05, 60.0))

    def run(self, cycles: int | None = None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        while not self.stopping:
            summary = self.cycle()
            self.echo(json.dumps(summary))
            busy = summary["meters_due"] or (summary.get("meters_delivered") and self.pending)
            if cycles is not None and (self.cycles >= cycles or not busy):
                return  # (tests: at most `cycles`, and none once there is nothing left to do)
            if busy:
                continue  # days left to seal or to deliver: go on at once
            deadline = time.monotonic() + self.seconds_to_next()
            while not self.stopping and time.monotonic() < deadline:
                self.heartbeat()  # (sends only when a new minute's slot is due)
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
