"""Scale one household to an annual kWh target (`annual_kwh` in its config).

Without a target a household uses what its own traits make it use (loadmodel/individual.py:
who lives there, what they own, their habits). With one, the scale that maps this household
(its own seed, so its own traits) to the target is found by simulating a reference sample of
days, a week from each month of 2023: the household then uses about the target in a year,
varying from year to year as real homes do. Space heating and cooling, EV charging and PV come
from their own settings and are not scaled.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from core import civil

_WEEKS = [civil.days_from_civil(2023, month, 8) for month in range(1, 13)]


def reference_model(model: dict) -> dict:
    ref = dict(model)
    # Electric heating stays switched on with no energy: it decides the household's traits
    # (no separate circulation pump), not its scaled consumption.
    heating = None if model["heating"] is None else {"watts": 1, "wh_per_degree_day": 0}
    ref.update(heating=heating, cooling=None, ev=None, pv=None,
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
