"""Many meters on one host: derive N meter configs from one base config.

Meter i (1-based) gets serial `<base serial>-<i:04d>`, its own seed, and with `mix` an
archetype and annual consumption drawn (deterministically) from a typical household mix, so a
host can simulate thousands of different homes from one file.
"""

from __future__ import annotations

from meter.config import default_seed
from meter.model import rng

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


def derive_all(base: dict, count: int, mix: bool) -> list[dict]:
    return [derive(base, i, mix) for i in range(1, count + 1)]
