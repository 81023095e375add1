# The heartbeat: one short POST saying the meter is alive and how it is doing
# (docs/protocol.md), with the Pico W's diagnostics: uptime_s, reset_cause, free_mem and
# last_error (the newest error since boot, or the crash that caused the last reset).
#
# A seed-era Tempest answers 404 on /api/v1/heartbeats; it then gets the seed's
# /heartbeat with the seed's fields, as the Pi meter does.
#
# Loaded for a heartbeat and unloaded after it (app.App.beat): what lasts between heartbeats
# (the route, the count, the last status) is the App's Beats.

import gc

ROUTES = ("api/v1/heartbeats", "heartbeat")


def payload(app):
    beats = app.heartbeat
    doc = {"serial": beats.serial, "kind": "pico", "version": beats.version,
           "uptime_s": app.uptime_s(), "reset_cause": app.reset_cause,
           "free_mem": gc.mem_free(), "outbox_backlog": app.outbox.backlog()}
    if beats.config_hash:
        doc["config_hash"] = beats.config_hash
    if app.clock.valid():
        doc["timestamp"] = app.clock.iso()
    if app.last_tick is not None:
        doc["last_tick"] = app.last_tick
    addr = app.wifi.address()
    if addr:
        doc["address"] = addr
    from picometer import flashwrite  # unloaded with this module (App.beat)

    free = flashwrite.free_bytes("/")
    if free is not None:
        doc["free_disk_bytes"] = free
    err = app.last_error()
    if err:
        doc["last_error"] = err[:480]
    return doc


def send(app):
    """POST one heartbeat; returns the HTTP status (OSError when Tempest is unreachable)."""
    import json

    beats = app.heartbeat
    doc = payload(app)
    if not beats.seed_route:
        answer = app.client.post(ROUTES[0], data=json.dumps(doc).encode())
        if answer.status != 404:
            return _done(beats, answer.status)
        beats.seed_route = True
    seed = {"serial": doc["serial"], "ip": doc.get("address"),
            "timestamp": doc.get("timestamp")}
    return _done(beats, app.client.post(ROUTES[1], data=json.dumps(seed).encode()).status)


def _done(beats, status):
    beats.last_status = status
    if 200 <= status < 300:
        beats.sent += 1
    return status
