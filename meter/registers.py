"""A meter's register reads at the start of any day, recomputed from its commissioning.

The registers are the running totals of everything the meter ever recorded, per channel. A
day file carries them at the day's start and end. To regenerate any past day on its own
(backfill, redial, ground truth) its opening registers are summed from the commissioning day
with the vectorised engine (a year of 5-minute data takes a fraction of a second), and the
result is cached in the meter's folder so the next call starts from there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core import civil
from core.durable import write_atomic
from meter.config import Config
from meter.vector.engine import VectorMeter

_CHUNK_DAYS = 366
CACHE_NAME = ".registers-cache.json"


class BeforeCommissioning(ValueError):
    pass


def _key(cfg: Config) -> str:
    m = cfg.model
    return json.dumps({k: v for k, v in m.items() if k not in ("tz_rules", "metadata_json")},
                      sort_keys=True)


def opening(cfg: Config, day: int, root: Path | None = None, vm: VectorMeter | None = None
            ) -> list[int]:
    """Opening registers (Wh per channel) of local day `day`."""
    m = cfg.model
    first = m["commissioned_day"]
    if day < first:
        raise BeforeCommissioning(
            f"{civil.format_day(day)} is before the meter's commissioning day "
            f"{civil.format_day(first)} (set 'commissioned' in its config to go further back)")
    key = _key(cfg)
    regs = np.array(m["initial_registers_wh"], dtype=np.int64)
    cache = Path(root) / CACHE_NAME if root is not None else None
    if cache is not None and cache.exists():
        try:
            got = json.loads(cache.read_text())
            if got["key"] == key and first <= got["day"] <= day:
                first, regs = got["day"], np.array(got["wh"], dtype=np.int64)
        except (ValueError, KeyError, TypeError):
            pass
    vm = vm or VectorMeter(m)
    d = first
    while d < day:
        last = min(day - 1, d + _CHUNK_DAYS - 1)
        regs = regs + vm.run(d, last).day_totals().sum(axis=0)
        d = last + 1
    result = [int(v) for v in regs]
    if cache is not None:
        remember(cfg, root, day, result)
    return result


def remember(cfg: Config, root: Path, day: int, wh: list[int]) -> None:
    text = json.dumps({"key": _key(cfg), "day": day, "wh": wh})
    write_atomic(Path(root) / CACHE_NAME, text.encode())
