"""Many meters on one host: derive N meter configs from one base config.

Meter i (1-based) gets serial `<base serial>-<i:04d>` and its own seed, so each is a household
of its own (loadmodel/individual.py draws its traits from the seed). With `mix` its archetype is
drawn (deterministically) from the household mix of the base config's country
(loadmodel/countries.py), so a host can simulate thousands of different homes from one file.
"""

from __future__ import annotations

import json
from pathlib import Path

from loadmodel import countries, rng
from meter.config import DEFAULT_LOCATION, ConfigError, default_seed


def country_of(raw: dict) -> str:
    """The country a config places its household in (as meter.config.normalise reads it)."""
    if "location" in raw:
        return raw["location"].get("country", "")
    return DEFAULT_LOCATION["country"]


def pick_archetype(country: str, pick: int) -> str:
    """The archetype at `pick` (0..999) in the country's household mix."""
    for name, share in countries.archetype_shares(country):
        if pick < share:
            return name
        pick -= share
    return countries.archetype_shares(country)[-1][0]


def derive(base: dict, i: int, mix: bool) -> dict:
    raw = dict(base)
    serial = f"{base['serial']}-{i:04d}"
    raw["serial"] = serial
    base_seed = base.get("seed", default_seed(base["serial"]))
    raw["seed"] = rng.draw(base_seed, rng.S_BULK, i, 0)
    if mix and "profile" not in base:
        raw["archetype"] = pick_archetype(country_of(base),
                                          rng.below(base_seed, rng.S_BULK, i, 1, 1000))
        raw.pop("annual_kwh", None)
    return raw


def derive_all(base: dict, count: int, mix: bool, config_dir: Path | None = None) -> list[dict]:
    """N meter configs. Each needs its own Tempest key (a key writes only its own serial):
    `tempest_api_keys_file` in the base config names a JSON file of {serial: key}, relative to
    the config's folder (`tempest meters add --json` writes one)."""
    base, keys = prepare(base, config_dir)
    return [derive_keyed(base, keys, i, mix) for i in range(1, count + 1)]


def prepare(base: dict, config_dir: Path | None) -> tuple[dict, dict | None]:
    """The base config with its concentrator key read, and the keys file's {serial: key}."""
    keys = _keys(base, config_dir)
    if "concentrator" in base:  # (imported only then: it brings the HTTP client)
        from meter.delivery.concentrator import with_key

        base = with_key(base, config_dir)
    return base, keys


def derive_keyed(base: dict, keys: dict | None, i: int, mix: bool) -> dict:
    """Meter i's config from a prepared base (a bulk host derives them one at a time)."""
    raw = derive(base, i, mix)
    if keys is not None:
        if raw["serial"] not in keys:
            raise ConfigError("tempest_api_keys_file", f"no key for {raw['serial']}")
        raw["tempest_api_key"] = keys[raw["serial"]]
    return raw


def _keys(base: dict, config_dir: Path | None) -> dict | None:
    name = base.get("tempest_api_keys_file")
    if not name:
        return None
    path = Path(name) if config_dir is None else Path(config_dir) / name
    return read_json_object("tempest_api_keys_file", path)


def read_json_object(field: str, path: Path) -> dict:
    """A per-meter file a bulk config names (keys, passwords): a JSON object, or a
    ConfigError naming the config's field."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(field, f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(field, f"{path} is not a JSON object")
    return doc
