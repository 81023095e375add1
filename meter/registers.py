"""A meter's register reads at the start of any day.

The registers are the running totals of everything the meter ever recorded, per channel; a day
file carries them at the day's start and end, and `closing = opening + the day's readings` to
the Wh, so the registers of any two days differ by exactly the energy recorded between them.

Where the totals start (docs/load-model.md, "Registers"):

- A meter that **remembers** registers (its folder's cache, written by every tick that starts
  a meter, every backfill and every call with a folder) keeps them: any other day is its
  anchor plus or minus the exact energy recorded in between, summed with the vectorised engine.
  Meters that began before this rule keep the registers they already delivered.
- A household meter that remembers nothing and starts recording on day D more than a month
  after its commissioning is installed with a non-zero register, as real meters are: its
  `initial_registers` plus an estimate of what the household recorded since commissioning
  (`start_read`: its typical yearly energy per day, closed form), so its first tick does not
  simulate years of history. Its registers then continue exactly from there, both ways; a day
  so far back that it would open below zero is refused (`NegativeRegisters`).
- Within a month of commissioning, and for a replay or seed-profile meter, the registers are
  `initial_registers` plus the exact history, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core import civil
from core.durable import write_atomic
from loadmodel.archetypes import ARCHETYPES
from loadmodel.engine import ROLE_EXPORT, ROLE_GENERATION, ROLE_IMPORT, ROLE_SUB
from meter.config import Config
from meter.vector.engine import VectorMeter

_CHUNK_DAYS = 366
# A meter with no memory that starts within this many days of its commissioning sums its
# exact history (at most a month of the vectorised engine, tens of milliseconds); later, it
# starts from an estimated read.
EXACT_HISTORY_DAYS = 31
CACHE_NAME = ".registers-cache.json"
# Rough yearly yields, for the estimate only: kWh per kWp of rooftop PV, the share of it
# exported, heating degree days a year (Germany, base 15.5 C) and cooling degree days.
_PV_KWH_PER_KWP = 950
_PV_EXPORT_PERMILLE = 600
_HEATING_DEGREE_DAYS = 2800
_COOLING_DEGREE_DAYS = 150


class BeforeCommissioning(ValueError):
    pass


class NegativeRegisters(ValueError):
    """A day before the meter's anchor would open below zero: the estimated start read was
    smaller than what the household really recorded before it."""


def _key(cfg: Config) -> str:
    m = cfg.model
    return json.dumps({k: v for k, v in m.items() if k not in ("tz_rules", "metadata_json")},
                      sort_keys=True)


def yearly_wh(cfg: Config) -> tuple[int, int, int]:
    """(import, export, generation) Wh a year this household typically records: the config's
    `annual_kwh` or its archetype's typical figure, plus what its heating, cooling and EV
    settings add. An estimate for start reads only; the readings come from the model."""
    model = cfg.model
    raw_kwh = cfg.raw.get("annual_kwh")
    kwh = raw_kwh if raw_kwh is not None else ARCHETYPES[model["archetype"]]["typical_kwh"]
    imp = int(kwh * 1000)
    if model.get("heating"):
        imp += model["heating"]["wh_per_degree_day"] * _HEATING_DEGREE_DAYS
    if model.get("cooling"):
        imp += model["cooling"]["wh_per_degree_day"] * _COOLING_DEGREE_DAYS
    if model.get("ev"):
        ev = model["ev"]
        imp += ev["wh_per_session"] * ev["sessions_per_week_x100"] * 52 // 100
    exp = gen = 0
    if model.get("pv"):
        gen = model["pv"]["watts_peak"] * _PV_KWH_PER_KWP
        exp = gen * _PV_EXPORT_PERMILLE // 1000
        imp = max(0, imp - (gen - exp))
    return imp, exp, gen


def starts_from_estimate(cfg: Config) -> bool:
    """Whether a meter with no memory starts from `start_read` (a household) or from its
    exact history (a replay or seed profile)."""
    return cfg.model["load_model"] == "household"


def start_read(cfg: Config, day: int) -> list[int]:
    """The registers (Wh) of a household meter installed on `day` with no memory:
    initial_registers plus the estimated energy of the days since commissioning."""
    m = cfg.model
    days = max(0, day - m["commissioned_day"])
    imp, exp, gen = (v * days // 365 for v in yearly_wh(cfg))
    sub_total = sum(ch[2] for ch in m["channels"] if ch[1] == ROLE_SUB)
    out, acc, prev = [], 0, 0
    for ch, initial in zip(m["channels"], m["initial_registers_wh"], strict=True):
        role = ch[1]
        if role == ROLE_IMPORT:
            add = imp
        elif role == ROLE_SUB:  # apportioned cumulatively, so the subs add up to the import
            acc += ch[2]
            cum = imp * acc // sub_total
            add, prev = cum - prev, cum
        elif role == ROLE_EXPORT:
            add = exp
        elif role == ROLE_GENERATION:
            add = gen
        else:
            add = (imp * ch[2] + 500) // 1000
        out.append(initial + add)
    return out


def _recorded(vm: VectorMeter, first: int, last: int) -> np.ndarray:
    """Recorded Wh per channel over days first..last inclusive (empty span: zeros)."""
    total = np.zeros(len(vm.m.channels), dtype=np.int64)
    d = first
    while d <= last:
        stop = min(last, d + _CHUNK_DAYS - 1)
        total = total + vm.run(d, stop).day_totals().sum(axis=0)
        d = stop + 1
    return total


def _anchor(cfg: Config, root: Path | None) -> tuple[int, list[int]] | None:
    """(day, opening Wh) the meter remembers: its cache, else the registers its state.json
    carries on (what its next tick continues from)."""
    if root is None:
        return None
    try:
        got = json.loads((Path(root) / CACHE_NAME).read_text())
        if got["key"] == _key(cfg):
            return int(got["day"]), [int(v) for v in got["wh"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        st = json.loads((Path(root) / "state.json").read_text())
        wh = [int(v) for v in st["registers"]]
        if len(wh) == len(cfg.model["channels"]):
            return int(st["registers_day"]), wh
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def opening(cfg: Config, day: int, root: Path | None = None, vm: VectorMeter | None = None
            ) -> list[int]:
    """Opening registers (Wh per channel) of local day `day`; with `root`, the meter's folder,
    what it remembers is used and the answer remembered."""
    m = cfg.model
    first = m["commissioned_day"]
    if day < first:
        raise BeforeCommissioning(
            f"{civil.format_day(day)} is before the meter's commissioning day "
            f"{civil.format_day(first)} (set 'commissioned' in its config to go further back)")
    anchor = _anchor(cfg, root)
    if anchor is None and starts_from_estimate(cfg) and day - first > EXACT_HISTORY_DAYS:
        anchor = (day, start_read(cfg, day))
    if anchor is None:
        anchor = (first, list(m["initial_registers_wh"]))
    at, wh = anchor
    if at == day:
        regs = np.array(wh, dtype=np.int64)
    else:
        vm = vm or VectorMeter(m)
        if at < day:
            regs = np.array(wh, dtype=np.int64) + _recorded(vm, at, day - 1)
        else:
            regs = np.array(wh, dtype=np.int64) - _recorded(vm, day, at - 1)
            if (regs < 0).any():
                raise NegativeRegisters(
                    f"{civil.format_day(day)} would open with negative registers: this meter "
                    f"started recording on {civil.format_day(at)} at {wh} Wh, less than its "
                    "household recorded before (give it initial_registers, or backfill from "
                    "its commissioning day before its first tick)")
    result = [int(v) for v in regs]
    if root is not None:
        remember(cfg, root, day, result)
    return result


def fresh_openings(cfg: Config, first: int, days: int) -> list[list[int]]:
    """`opening(cfg, d)` of a meter with no memory, for each of `days` days from `first`: the
    registers a meter that starts on that day opens with (a Pico's registers.txt)."""
    m = cfg.model
    first = max(first, m["commissioned_day"])
    exact_to = first + days - 1
    if starts_from_estimate(cfg):
        exact_to = min(exact_to, m["commissioned_day"] + EXACT_HISTORY_DAYS)
    rows = []
    if exact_to >= first:
        vm = VectorMeter(m)
        regs = np.array(opening(cfg, first, vm=vm), dtype=np.int64)
        totals = vm.run(first, exact_to).day_totals()
        for k in range(exact_to - first + 1):
            rows.append([int(v) for v in regs])
            regs = regs + totals[k]
    for d in range(max(first, exact_to + 1), first + days):
        rows.append(start_read(cfg, d))
    return rows


def remember(cfg: Config, root: Path, day: int, wh: list[int], durable: bool = True) -> None:
    """durable=False: the caller syncs (a ledger host syncs once for all its meters)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    text = json.dumps({"key": _key(cfg), "day": day, "wh": wh})
    write_atomic(Path(root) / CACHE_NAME, text.encode(), durable=durable)
