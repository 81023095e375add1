"""Replacing a meter's config from the agent: check first, keep the last good one, write
atomically.

Order matters for a crash at any point: the current config (known good: it loaded) is copied
to config.json.last-good first, then the new config replaces config.json in one rename. A
crash leaves either the old config or the new one, never half of either; a bad config never
reaches the disk at all, because config.from_dict rejects it first.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
from pathlib import Path

from core.configdoc import SECRET_FIELDS, SECRET_NESTED
from meter import config
from meter.agent.context import LAST_GOOD_SUFFIX
from meter.config import Config, ConfigError
from meter.delivery.files import write_atomic

MODE = 0o600  # configs hold Tempest's API key and the agent key

# Where the meter's data (and with it its Tempest key) goes, and who decides that: a pushed
# config may not change these unless the config in force, which the inventory wrote (Ansible),
# sets agent.allow_redirect. Otherwise anyone holding the agent key could send the meter's
# uploads, and its key, to a server of their choosing. Values: the default when left out.
DESTINATIONS = {"tempest_url": None, "delivery.rsync_target": None, "delivery.ssh_port": 22,
                "delivery.ssh_known_hosts": None, "agent.allow_redirect": False}


class RedirectRefused(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field
        self.reason = (f"a pushed config cannot change {field}: where the meter delivers (and "
                       "sends its key) is the inventory's to say. Change it with Ansible, or "
                       "have the inventory set agent.allow_redirect in this meter's config")


def carry_secrets(current: dict, new: dict) -> dict:
    """GET /config hides the secrets, so a client that edits what it got back does not have
    them: a secret left out of the new config keeps its current value. To change one, send
    it."""
    out = copy.deepcopy(new)
    for key in SECRET_FIELDS:
        if key not in out and key in current:
            out[key] = current[key]
    for section, keys in SECRET_NESTED.items():
        old = current.get(section)
        if not isinstance(old, dict):
            continue
        for key in keys:
            if key not in old:
                continue
            target = out.setdefault(section, {})
            if isinstance(target, dict) and key not in target:
                target[key] = old[key]
    return out


def check(current: Config, new: dict) -> Config:
    """The new config, validated (ConfigError names the field)."""
    if not isinstance(new, dict):
        raise ConfigError("", "a config is a JSON object")
    if new.get("serial") != current.serial:
        raise ConfigError("serial", f"the agent cannot change the meter's serial (it is "
                          f"{current.serial!r}): its files and its key belong to it")
    # A relative path in the config (replay.file) is the meter's config folder's.
    return config.from_dict(new, current.path.parent if current.path else None)


def _at(raw: dict, dotted: str, default):
    node = raw
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return default
    return node.rstrip("/") if dotted == "tempest_url" and isinstance(node, str) else node


def check_destinations(current: dict, new: dict) -> None:
    """RedirectRefused naming the first destination field `new` changes, unless the config
    in force allows it."""
    if _at(current, "agent.allow_redirect", False) is True:
        return
    for field, default in DESTINATIONS.items():
        if _at(current, field, default) != _at(new, field, default):
            raise RedirectRefused(field)


@contextlib.contextmanager
def _locked(path: Path):
    fd = os.open(path.with_name("." + path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def replace(path: Path, new_raw: dict) -> None:
    """Write `new_raw` (already checked) as the config; keep the current one as last-good."""
    path = Path(path)
    text = (json.dumps(new_raw, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    with _locked(path):
        owner = None
        try:
            st = os.stat(path)
            owner = (st.st_uid, st.st_gid)
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current is not None and _loads(current, path.parent):
            write_atomic(path.with_name(path.name + LAST_GOOD_SUFFIX), current, MODE, owner)
        write_atomic(path, text, MODE, owner)


def _loads(data: bytes, base: Path) -> bool:
    try:
        config.parse(data.decode("utf-8"), base)
        return True
    except (ConfigError, UnicodeDecodeError):
        return False
