"""Many meters on one host: derive N meter configs from one base config.

Meter i (1-based) gets serial `<base serial>-<i:04d>`, its own seed, and with `mix` an
archetype and annual consumption drawn (deterministically) from a typical household mix, so a
host can simulate thousands of different homes from one file.
"""

from __future__ import annotations

import json
from pathlib import Path

from loadmodel import rng
from meter.config import ConfigError, default_seed

# Household sizes in Germany (Destatis): about 41% one person, 34% two, 25% more; split the
# two-person homes between working couples, retirees and home offices.
MIX = (("single", 41), ("couple", 16), ("retired", 12), ("home_office", 6), ("family", 25))


def derive(base: dict, i: int, mix: bool) -> dict:
    raw = dict(base)
    serial = f"{base['serial']}-{i:04d}"
    raw["serial"] = serial
    base_seed = base.get("seed", default_seed(base["serial"]))
    raw["seed"] = rng.draw(base_seed, rng.S_BULK, i, 0)
    if mix and "profile" not in base:
        pick = rng.below(base_seed, rng.S_BULK, i, 1, 100)
        for name, share in MIX:
            if pick < share:
                raw["archetype"] = name
                break
            pick -= share
        raw.pop("annual_kwh", None)
    return raw


def derive_all(base: dict, count: int, mix: bool, config_dir: Path | None = None) -> list[dict]:
    """N meter configs. Each needs its own Tempest key (a key writes only its own serial):
    `tempest_api_keys_file` in the base config names a JSON file of {serial: key}, relative to
    the config's folder (`tempest meters add --json` writes one)."""
    keys = _keys(base, config_dir)
    out = []
    for i in range(1, count + 1):
        raw = derive(base, i, mix)
        if keys is not None:
            if raw["serial"] not in keys:
                raise ConfigError("tempest_api_keys_file", f"no key for {raw['serial']}")
            raw["tempest_api_key"] = keys[raw["serial"]]
        out.append(raw)
    return out


def _keys(base: dict, config_dir: Path | None) -> dict | None:
    name = base.get("tempest_api_keys_file")
    if not name:
        return None
    path = Path(name) if config_dir is None else Path(config_dir) / name
    try:
        keys = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError("tempest_api_keys_file", f"cannot read {path}: {exc}") from exc
    if not isinstance(keys, dict):
        raise ConfigError("tempest_api_keys_file", f"{path} is not a JSON object of keys")
    return keys
