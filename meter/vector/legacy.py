"""loadmodel.legacy.LegacyProfile on the local-minute grid, for a run of days."""

from __future__ import annotations

import numpy as np

from loadmodel import rng
from loadmodel.legacy import KNOT_MINUTES, LegacyProfile
from meter.vector import ints

_MINUTES = np.arange(1440, dtype=np.int64)


class VectorLegacy:
    def __init__(self, cfg: dict, zone):
        self.p = LegacyProfile(cfg, zone)
        self.level = np.array([self.p.level(m) for m in range(1440)], dtype=np.int64)

    def grid(self, days: np.ndarray):
        p = self.p
        d = days[:, None]
        m = _MINUTES[None, :]
        k = (d * 1440 + m) // KNOT_MINUTES
        n0 = ints.bell(p.seed, rng.S_LEGACY, k, 0)
        n1 = ints.bell(p.seed, rng.S_LEGACY, k + 1, 0)
        noise = n0 + ((n1 - n0) * (m % KNOT_MINUTES)) // KNOT_MINUTES
        day_level = ints.bell(p.seed, rng.S_LEGACY, days, 1)[:, None]
        v = p.variability
        factor = np.maximum(1000 + (v * noise) // 8192 + (v * day_level) // 32768, 0)
        cons = (self.level[None, :] * factor) // 1000
        return cons, np.zeros_like(cons)
