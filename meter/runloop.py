"""`meter run`: the meter's schedule in one long-running process, instead of cron.

For hosts where cron is not the right tool: a demo fleet on a laptop (nothing may be installed
outside the project folder, and time may run faster than real time), or one host simulating
thousands of meters (one process, no per-tick interpreter start-up). Each cycle: tick every
meter, deliver what is sealed, and every `heartbeat_s` of wall-clock time send heartbeats; then
sleep until the next interval boundary of the meters' (possibly scaled) clock.

A config file edited on disk (by the agent's POST /config or by Ansible) is re-read on the next
cycle. Nothing a meter does can stop the loop: every failure is logged with its reason.

A demo meter (`"demo": true`, meter/demo.py) is ticked and its readings printed, one line per
interval; it is never delivered and sends no heartbeat.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from meter import clock, demo, operations
from meter.config import Config, ConfigError

log = logging.getLogger("meter.run")


class Loop:
    def __init__(self, load: Callable[[], list[tuple[Config, Path]]], at: str | None = None,
                 heartbeat_s: float = 60.0, deliver: bool = True,
                 echo: Callable[[str], None] | None = None):
        self.load = load
        self.echo = echo or (lambda line: print(line, flush=True))
        self._announced: set[str] = set()
        self.at = at
        self.heartbeat_s = heartbeat_s
        self.deliver = deliver
        self.stopping = False
        self.meters: list[tuple[Config, Path]] = []
        self._stamps: dict[Path, float] = {}
        self._last_heartbeat = 0.0
        self.cycles = 0

    def stop(self, *_args) -> None:
        self.stopping = True

    def _reload_if_changed(self) -> None:
        paths = {cfg.path for cfg, _ in self.meters if cfg.path is not None}
        stamps = {}
        for p in paths:
            try:
                stamps[p] = p.stat().st_mtime
            except OSError:
                stamps[p] = 0.0
        if self.meters and stamps == self._stamps:
            return
        try:
            self.meters = self.load()
        except (ConfigError, SystemExit) as exc:
            # Keep running the meters as they were: a bad edit must not stop the fleet.
            log.error("config not reloaded: %s", exc)
            return
        self._stamps = {cfg.path: cfg.path.stat().st_mtime for cfg, _ in self.meters
                        if cfg.path is not None}

    def cycle(self) -> None:
        self._reload_if_changed()
        grouped, behind = self._concentrators()
        for cfg, root in self.meters:
            if self.stopping:
                return
            now_s = clock.now_seconds(self.at, cfg.raw)
            try:
                if demo.is_demo(cfg):
                    if cfg.serial not in self._announced:
                        self._announced.add(cfg.serial)
                        self.echo(demo.banner(cfg))
                    demo.tick_and_show(cfg, root, int(now_s // 60), self.echo)
                    continue
                summary = operations.tick(cfg, root, int(now_s // 60))
                if cfg.raw.get("mqtt"):
                    from meter.delivery import mqtt  # paho only where a meter uses it

                    mqtt.after_tick(cfg, root, summary)
                if self.deliver and cfg.serial not in behind:
                    from meter.delivery.route import deliver

                    deliver(cfg, root, now_s, False)
            except operations.Busy:
                continue
            except Exception:  # noqa: BLE001 - one meter's failure must not stop the others
                log.exception("%s: tick or delivery failed", cfg.serial)
        if self.deliver and not self.stopping:
            self._deliver_batches(grouped)
        if time.monotonic() - self._last_heartbeat >= self.heartbeat_s:
            self._last_heartbeat = time.monotonic()
            from meter.delivery.heartbeat import send

            self._heartbeat_batches(grouped)
            for cfg, root in self.meters:
                if demo.is_demo(cfg) or cfg.serial in behind:
                    continue
                try:
                    send(cfg, root, clock.now_seconds(self.at, cfg.raw))
                except Exception:  # noqa: BLE001
                    log.exception("%s: heartbeat failed", cfg.serial)
        self.cycles += 1

    # -- a bulk host acting as a data concentrator (docs/concentrator.md) --------------------

    def _concentrators(self) -> tuple[dict, set[str]]:
        """The meters behind a concentrator, by concentrator, and their serials: they deliver
        and send heartbeats in batches after the ticks, not one by one."""
        if not any("concentrator" in cfg.raw for cfg, _ in self.meters):
            return {}, set()
        from meter.delivery.concentrator import split

        try:
            grouped, _alone = split(self.meters)
        except ConfigError as exc:  # checked at start; an edit must not stop the ticks
            log.error("concentrator not used: %s", exc)
            return {}, set()
        return grouped, {cfg.serial for items in grouped.values() for cfg, _ in items}

    def _now_of(self, cfg: Config) -> float:
        return clock.now_seconds(self.at, cfg.raw)

    def _deliver_batches(self, grouped: dict) -> None:
        from meter.delivery.batchpass import batch_pass

        for c, items in grouped.items():
            try:
                batch_pass(c, items, self._now_of)
            except Exception:  # noqa: BLE001 - the loop goes on; the reason is logged
                log.exception("concentrator %s: delivery failed", c.id)

    def _heartbeat_batches(self, grouped: dict) -> None:
        from meter.delivery.concentrator import send_heartbeats

        for c, items in grouped.items():
            send_heartbeats(c, items, self._now_of)

    def seconds_to_next(self) -> float:
        """Wall-clock seconds until the next interval boundary on the meters' clock."""
        if not self.meters:
            return 5.0
        cfg = self.meters[0][0]
        scale = cfg.raw.get("time_scale", 1) if cfg.raw.get("time_origin") else 1
        interval_s = cfg.model["interval"] * 60
        now_s = clock.now_seconds(self.at, cfg.raw)
        wait = (interval_s - now_s % interval_s) / scale + 0.05
        to_heartbeat = self.heartbeat_s - (time.monotonic() - self._last_heartbeat)
        return max(0.05, min(wait, to_heartbeat, 60.0))

    def run(self, cycles: int | None = None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        while not self.stopping:
            self.cycle()
            if cycles is not None and self.cycles >= cycles:
                return
            deadline = time.monotonic() + self.seconds_to_next()
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        self._close_mqtt()

    def _close_mqtt(self) -> None:
        """A meter stopped on purpose says so on its retained state topic (a killed one's
        Last Will says "last gasp" instead)."""
        import sys

        mqtt = sys.modules.get("meter.delivery.mqtt_client")  # loaded only if a meter uses it
        if mqtt is not None:
            mqtt.close_all(announce=True)
