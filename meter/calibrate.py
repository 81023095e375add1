"""Scale a household to its annual kWh target.

The archetypes describe behaviour (who switches what on, when); `annual_kwh` says how much
the household uses in a year. The scale that maps one to the other is found by simulating a
reference sample of days (a week from each month of 2023) with a fixed reference seed, so it depends
only on the household's description and place, not on its own random draws: meters of one
kind share it (cached), and each meter still varies around the target as real homes do.
Space heating and cooling, EV charging and PV come from their own settings and are not scaled.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from core import civil

REFERENCE_SEED = 20240101
_WEEKS = [civil.days_from_civil(2023, month, 8) for month in range(1, 13)]


def reference_model(model: dict) -> dict:
    ref = dict(model)
    ref.update(seed=REFERENCE_SEED, heating=None, cooling=None, ev=None, pv=None,
               interval=60, scale_permille=1000,
               channels=[["Total", "import", 1000, None]],
               faults={k: (0 if k.endswith("_p32") else v) for k, v in model["faults"].items()},
               initial_registers_wh=[0])
    ref["faults"]["drift_s_per_day"] = 0
    return ref


def scale_permille(model: dict, target_kwh: float) -> int:
    ref = reference_model(model)
    key = json.dumps({k: v for k, v in ref.items() if k not in ("serial", "tz_rules")},
                     sort_keys=True)
    return _scale(key, json.dumps(ref["tz_rules"]), round(target_kwh * 1000))


@lru_cache(maxsize=256)
def _scale(key: str, rules: str, target_wh: int) -> int:
    from meter.vector.engine import VectorMeter

    ref = json.loads(key)
    ref["tz_rules"] = json.loads(rules)
    ref["serial"] = "reference"
    vm = VectorMeter(ref)
    totals = [vm.run(first, first + 6).day_totals()[:, 0] for first in _WEEKS]
    annual = float(np.mean(np.concatenate(totals))) * 365
    if annual <= 0:
        return 1000
    return max(1, round(1000 * target_wh / annual))
