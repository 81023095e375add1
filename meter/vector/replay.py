"""loadmodel.replay.ReplayLoad over a span of UTC minutes, as per-minute watt-minutes."""

from __future__ import annotations

import numpy as np

from loadmodel.replay import ReplayLoad


class VectorReplay:
    def __init__(self, load: ReplayLoad):
        self.load = load

    def utc_minutes(self, u0: int, u1: int) -> np.ndarray:
        """Watt-minutes of each UTC minute in [u0, u1): 60 times the minute's whole Wh, so
        that any interval's sum divides by 60 exactly into MeterModel.raw's Wh."""
        zone = self.load.zone
        pieces = []
        u = u0
        while u < u1:
            _, ds, length, n, prefix = self.load.day_table(zone.day_of(u))
            t = np.arange(length + 1, dtype=np.int64)
            pre = np.array(prefix, dtype=np.int64)
            count = len(prefix) - 1
            x = t * (n * count)
            k = np.minimum(x // (n * length), count - 1)
            cum = pre[k] + ((pre[k + 1] - pre[k]) * (x - k * n * length)) // (n * length)
            per_minute = np.diff(cum) * 60
            stop = min(u1, ds + length)
            pieces.append(per_minute[u - ds: stop - ds])
            u = stop
        return np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
