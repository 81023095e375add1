"""One delivery pass by the meter's `delivery.mode`: http (default), rsync, mqtt or none."""

from __future__ import annotations

from meter.config import Config
from meter.delivery import settings
from meter.delivery.result import PassResult
from meter.delivery.rsync import sync_pass
from meter.delivery.upload import upload_pass


def deliver(cfg: Config, root, now: float, force: bool = False) -> PassResult | None:
    """None when the meter is set to deliver nothing (mode none: e.g. files are collected by
    the `collect` playbook)."""
    mode = settings.delivery(cfg).mode
    if mode == "http":
        return upload_pass(cfg, root, now, force)
    if mode == "rsync":
        return sync_pass(cfg, root, now, force)
    if mode == "mqtt":
        from meter.delivery.mqtt import deliver_pass  # paho only where a meter uses it

        return deliver_pass(cfg, root, now, force)
    return None
