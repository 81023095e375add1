"""A seed fleet's per-device configs, and the Ansible inventory that deploys them as Meters.

The seed kept one config file per device, every one with the fleet's one shared key. Each is
checked by the meter's own validator (the seed's fields are Meters config fields), and becomes
one inventory host: a Pi in `meters`, a Pico W (`"model": "pico-w"`) in `picos`. What this
module writes into the inventory folder (docs/migrate-from-seed.md):

- `seed-fleet.yml`: the two groups and their hosts (an inventory source of its own, beside
  any `hosts.yml`); rewritten on every run;
- `host_vars/<serial>/seed.yml`: the meter's settings from its seed config and references to
  its keys (`meter_tempest_api_key: "{{ vault_meter_tempest_api_key }}"`, as docs/deploy.md
  keeps secrets); rewritten on every run. The operator's own settings (`ansible_host`,
  `pico_port`, ...) go in `host_vars/<serial>/vars.yml`, which is never touched and, read
  after it, wins;
- `host_vars/<serial>/vault.yml`: the keys themselves, for `ansible-vault encrypt`; written
  once (a re-run keeps it, encrypted or not) unless the keys are rotated.

YAML is written as JSON values (JSON is YAML), so no YAML library is needed on a meter.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from meter import config

PICO_MODELS = ("pico-w",)
# The seed config's delivery fields: the inventory decides where a migrated meter delivers
# and with which key.
NOT_CARRIED = ("serial", "tempest_url", "tempest_api_key")
FLEET_FILE = "seed-fleet.yml"
VAULT_HEADER = "$ANSIBLE_VAULT"
TEMPEST_KEY_VAR = "vault_meter_tempest_api_key"
AGENT_KEY_VAR = "vault_meter_agent_key"


class SeedFleetError(Exception):
    """A seed config or inventory file that cannot be used; the message names the file and
    the field."""


@dataclass(frozen=True)
class SeedMeter:
    serial: str
    path: Path
    raw: dict

    @property
    def pico(self) -> bool:
        return str(self.raw.get("model") or "").lower() in PICO_MODELS

    @property
    def kind(self) -> str:
        return "pico" if self.pico else "pi"


def read_configs(folder: Path) -> list[SeedMeter]:
    """Every `*.json` in `folder`, checked as the meter checks its config, by serial."""
    paths = sorted(Path(folder).glob("*.json"))
    if not paths:
        raise SeedFleetError(f"{folder}: no seed config (*.json) in this folder")
    found: dict[str, SeedMeter] = {}
    for path in paths:
        try:
            cfg = config.read(path)
        except config.ConfigError as exc:
            raise SeedFleetError(f"{path}: {exc}") from exc
        if cfg.serial in found:
            raise SeedFleetError(f"{path}: serial: {cfg.serial!r} is also the serial of "
                                 f"{found[cfg.serial].path.name}")
        found[cfg.serial] = SeedMeter(cfg.serial, path, cfg.raw)
    return [found[s] for s in sorted(found)]


def tempest_urls(meters: list[SeedMeter]) -> set[str]:
    return {m.raw["tempest_url"] for m in meters if m.raw.get("tempest_url")}


# -- the keys ------------------------------------------------------------------------------------

@dataclass
class Keys:
    tempest: str | None  # None: kept in an encrypted vault.yml, unreadable here
    agent: str | None
    state: str  # "new", "kept", "encrypted", "rotated"


def _value(text: str, name: str) -> str | None:
    m = re.search(rf"^{name}:\s*(.+?)\s*$", text, re.M)
    if m is None:
        return None
    value = m.group(1)
    if value.startswith('"'):
        return json.loads(value)
    return value.strip("'")


def vault_path(inventory: Path, serial: str) -> Path:
    return inventory / "host_vars" / serial / "vault.yml"


def keys_for(inventory: Path, meter: SeedMeter, rotate: bool) -> Keys:
    """The meter's keys: those of its vault.yml, or new ones (always new with `rotate`)."""
    path = vault_path(inventory, meter.serial)
    if path.exists() and not rotate:
        text = path.read_text()
        if text.startswith(VAULT_HEADER):
            return Keys(None, None, "encrypted")
        try:
            tempest, agent = _value(text, TEMPEST_KEY_VAR), _value(text, AGENT_KEY_VAR)
        except ValueError as exc:
            raise SeedFleetError(f"{path}: cannot read its keys ({exc}); remove it, or run "
                                 "again with --rotate") from exc
        if tempest:
            if not meter.pico and not agent:
                agent = secrets.token_urlsafe(32)  # a Pico that became a Pi
            return Keys(tempest, agent, "kept")
    agent = None if meter.pico else secrets.token_urlsafe(32)
    return Keys(secrets.token_urlsafe(32), agent, "rotated" if path.exists() else "new")


# -- the inventory -------------------------------------------------------------------------------

def _yaml(doc: dict) -> str:
    return "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in doc.items())


def host_settings(meter: SeedMeter, timezone: str) -> dict:
    """The role variables of one meter (the meter role's `meter_*`, the pico role's `pico_*`)."""
    raw = meter.raw
    p = "pico_" if meter.pico else "meter_"
    out: dict = {f"{p}interval_min": raw.get("interval_min", 5), f"{p}timezone": timezone}
    if "profile" in raw and "archetype" not in raw:
        out[f"{p}archetype"] = ""  # the seed's profile drives it, as it did in the seed
    if raw.get("channels"):
        out[f"{p}channels"] = raw["channels"]
    if meter.pico and raw.get("display"):
        out["pico_display"] = raw["display"]
    skip = (*NOT_CARRIED, "interval_min", "timezone", "channels")
    extra = {k: v for k, v in raw.items() if k not in skip}
    if extra:
        out[f"{p}config_extra"] = extra
    if meter.pico:
        out["pico_api_key"] = "{{ " + TEMPEST_KEY_VAR + " }}"
    else:
        out["meter_tempest_api_key"] = "{{ " + TEMPEST_KEY_VAR + " }}"
        out["meter_agent_key"] = "{{ " + AGENT_KEY_VAR + " }}"
    return out


def _write(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write `text` unless the file holds it already; True if it changed."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def write_host(inventory: Path, meter: SeedMeter, timezone: str, keys: Keys) -> None:
    seed = (f"---\n# {meter.serial}: its seed config ({meter.path.name}) as the "
            f"{'pico' if meter.pico else 'meter'} role's variables,\n# written by `meter "
            "migrate-seed` on every run (docs/migrate-from-seed.md). Put your own\n# settings "
            "in vars.yml beside it: it is never touched, and wins.\n"
            + _yaml(host_settings(meter, timezone)))
    _write(inventory / "host_vars" / meter.serial / "seed.yml", seed)
    if keys.tempest is None:
        return  # an encrypted vault.yml: kept as it is
    secrets_doc = {TEMPEST_KEY_VAR: keys.tempest}
    if keys.agent:
        secrets_doc[AGENT_KEY_VAR] = keys.agent
    vault = (f"---\n# {meter.serial}'s keys, from `meter migrate-seed`. Encrypt before anything "
             f"else, in the inventory folder:\n#   ansible-vault encrypt host_vars/{meter.serial}"
             "/vault.yml\n" + _yaml(secrets_doc))
    _write(vault_path(inventory, meter.serial), vault, 0o600)


def write_groups(inventory: Path, meters: list[SeedMeter]) -> None:
    lines = ["---", "# The seed fleet's hosts, written by `meter migrate-seed` on every run "
             "(docs/migrate-from-seed.md).", "all:", "  children:"]
    for group, pico in (("meters", False), ("picos", True)):
        members = [m.serial for m in meters if m.pico == pico]
        if members:
            lines += [f"    {group}:", "      hosts:"]
            lines += [f"        {json.dumps(s)}: {{}}" for s in members]
    _write(inventory / FLEET_FILE, "\n".join(lines) + "\n")


def write_base(inventory: Path, tempest_host: str, tempest_port: int) -> bool:
    """A fresh inventory folder (no hosts.yml) gets the Tempest host and the login account;
    an existing one keeps its own. True if written."""
    if (inventory / "hosts.yml").exists():
        return False
    _write(inventory / "hosts.yml", (
        "---\n# Written once by `meter migrate-seed`: the Tempest host the meters deliver to "
        "(docs/deploy.md).\nall:\n  children:\n    tempest:\n      hosts:\n        tempest01:\n"
        f"          ansible_host: {json.dumps(tempest_host)}\n"))
    _write(inventory / "group_vars" / "all" / "vars.yml", (
        "---\n# Written once by `meter migrate-seed`: how Ansible logs in, Tempest's port "
        "(docs/deploy.md).\nansible_user: meters\nansible_python_interpreter: /usr/bin/python3\n"
        f"tempest_port: {tempest_port}\n"))
    return True
