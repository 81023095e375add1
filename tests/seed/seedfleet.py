"""A seed fleet as its owner has it: one config file per device, every one with the seed's
config keys and the fleet's one shared key (docs/seed.md)."""

from __future__ import annotations

import json
from pathlib import Path

SHARED_KEY = "12345"  # the seed's example configs
PROFILE = {str(h): v for h, v in enumerate(
    [0.02, 0.02, 0.02, 0.02, 0.03, 0.05, 0.08, 0.12, 0.1, 0.07, 0.06, 0.06,
     0.07, 0.06, 0.06, 0.07, 0.09, 0.14, 0.18, 0.16, 0.12, 0.08, 0.05, 0.03])}


def seed_config(serial: str, model: str, **extra) -> dict:
    cfg = {"interval_min": 5, "serial": serial, "tempest_url": "http://192.168.86.34:8002/",
           "tempest_api_key": SHARED_KEY, "demo": False, "display": None, "model": model,
           "profile": PROFILE, "variability": 0.1, "missing_data": 0.0,
           "excessive_data": 0.001, "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4}}
    cfg.update(extra)
    return cfg


# The seed's Pico W meter: its channels need not add up (Wind is independent).
SEED_KILI_PICO = seed_config("kili-pico", "pico-w", channels={
    "Total": 1.0, "House": 0.6, "Garden": 0.1, "Shed": 0.3, "Wind": 0.5})

FLEET = [
    seed_config("kili", "raspberry-pi-3b"),
    seed_config("meru", "raspberry-pi-4", interval_min=15, missing_data=0.01),
    SEED_KILI_PICO,
    seed_config("elgon-pico", "pico-w", demo=True, display="oled_1_3"),
]


def write_configs(folder: Path, fleet: list[dict] = FLEET) -> Path:
    """One `<serial>.json` per device, as the seed kept them."""
    folder.mkdir(parents=True, exist_ok=True)
    for cfg in fleet:
        (folder / f"{cfg['serial']}.json").write_text(json.dumps(cfg, indent=2))
    return folder
