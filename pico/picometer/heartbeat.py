# The heartbeat: one short POST saying the meter is alive and how it is doing
# (docs/protocol.md), with the Pico W's diagnostics: uptime_s, reset_cause, free_mem and
# last_error (the newest error since boot, or the crash that caused the last reset).
#
# A seed-era Tempest answers 404 on /api/v1/heartbeats; it then gets the seed's
# /heartbeat with the seed's fields, as the Pi meter does.

import gc

ROUTES = ("api/v1/heartbeats", "heartbeat")


class Heartbeat:
    def __init__(self, client, serial, version, config_hash):
        self.client = client
        self.serial = serial
        self.version = version
        self.config_hash = config_hash
        self.seed_route = False
        self.sent = 0
        self.last_status = None

    def payload(self, app):
        doc = {"serial": self.serial, "kind": "pico", "version": self.version,
               "uptime_s": app.uptime_s(), "reset_cause": app.reset_cause,
               "free_mem": gc.mem_free(), "outbox_backlog": app.outbox.backlog()}
        if self.config_hash:
            doc["config_hash"] = self.config_hash
        if app.clock.valid():
            doc["timestamp"] = app.clock.iso()
        if app.last_tick is not None:
            doc["last_tick"] = app.last_tick
        addr = app.wifi.address()
        if addr:
            doc["address"] = addr
        free = app.fs.free_bytes("/")
        if free is not None:
            doc["free_disk_bytes"] = free
        err = app.last_error()
        if err:
            doc["last_error"] = err[:480]
        return doc

    def send(self, app):
        """POST one heartbeat; returns the HTTP status (OSError when Tempest is unreachable)."""
        import json

        doc = self.payload(app)
        if not self.seed_route:
            answer = self.client.post(ROUTES[0], data=json.dumps(doc).encode())
            if answer.status != 404:
                return self._done(answer.status)
            self.seed_route = True
        seed = {"serial": doc["serial"], "ip": doc.get("address"),
                "timestamp": doc.get("timestamp")}
        return self._done(self.client.post(ROUTES[1], data=json.dumps(seed).encode()).status)

    def _done(self, status):
        self.last_status = status
        if 200 <= status < 300:
            self.sent += 1
        return status
