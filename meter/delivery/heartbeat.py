"""The heartbeat: one short POST to Tempest saying the meter is alive and how it is doing.

It runs as its own cron entry (every minute), apart from the tick, and never raises: Tempest
being down or slow costs at most `heartbeat.timeout_s` of this process, and nothing else.
Failures are logged with the reason and answered as {"sent": false, "reason": ...}.
"""

from __future__ import annotations

import logging

from meter.config import Config
from meter.delivery import settings, status
from meter.delivery.transport import SENT, Tempest

log = logging.getLogger("meter.delivery")

# The fields Tempest's registry reads (docs/protocol.md); `last_error` rides along as the
# delivery's last problem, so the head-end shows why a backlog grows.
FIELDS = ("serial", "kind", "version", "config_hash", "address", "agent_url", "timestamp",
          "last_tick", "free_disk_bytes", "outbox_backlog")


def payload(cfg: Config, root, now: float) -> dict:
    rep = status.report(cfg, root, now)
    doc = {k: rep[k] for k in FIELDS if rep.get(k) is not None}
    last_error = rep["delivery"]["last_error"]
    if last_error:
        doc["last_error"] = last_error[:500]
    return doc


def seed_payload(doc: dict) -> dict:
    """What a seed-era Tempest understands."""
    return {"serial": doc["serial"], "ip": doc.get("address"), "timestamp": doc.get("timestamp")}


def _publish(cfg: Config, root, now: float) -> None:
    """The same document on the meter's MQTT heartbeat topic (retained), never waiting for a
    broker that is down (meter/delivery/mqtt.py)."""
    from meter.delivery import mqtt

    try:
        mqtt.publish_heartbeat(cfg, payload(cfg, root, now))
    except Exception as exc:  # noqa: BLE001 - the HTTP heartbeat goes out all the same
        log.warning("%s: MQTT heartbeat not published: %s", cfg.serial, exc)


def send(cfg: Config, root, now: float, client: Tempest | None = None) -> dict:
    s = settings.delivery(cfg)
    if s.demo:
        return {"sent": False, "reason": settings.DEMO_REASON}
    if not s.heartbeat_enabled:
        return {"sent": False, "reason": "heartbeats are off (heartbeat.enabled)"}
    if cfg.raw.get("mqtt"):
        _publish(cfg, root, now)
    if not s.tempest_url:
        return {"sent": False, "reason": "no tempest_url in the config"}
    try:
        doc = payload(cfg, root, now)
    except Exception as exc:  # a heartbeat must go out even if a status field breaks
        log.warning("%s: heartbeat status incomplete: %s", cfg.serial, exc)
        doc = {"serial": cfg.serial, "kind": "pi", "last_error": f"status failed: {exc}"}
    own = client is None
    client = client or Tempest(s.tempest_url, s.api_key, s.heartbeat_timeout_s)
    try:
        out = client.post_heartbeat(doc, seed_payload(doc))
    except Exception as exc:  # never raises: see the module docstring
        out = None
        reason = f"heartbeat failed: {exc}"
    finally:
        if own:
            client.close()
    if out is not None and out.kind == SENT:
        server_time = out.body.get("server_time") if isinstance(out.body, dict) else None
        return {"sent": True, "status": out.status, "server_time": server_time,
                "heartbeat": doc}
    if out is not None:
        reason = out.reason
    log.warning("%s: heartbeat not sent: %s", cfg.serial, reason)
    return {"sent": False, "status": out.status if out else None, "reason": reason,
            "heartbeat": doc}
