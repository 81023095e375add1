"""loadmodel.engine for a run of days at once: intervals, faults and channels.

`VectorMeter(cfg).run(first_day, last_day)` returns every interval of those local days with
what the meter records (faults applied), what the household really used, the quality codes and
the fault labels: the same numbers, interval for interval, as MeterModel.recorded_interval()
and MeterModel.true_interval().
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadmodel import rng
from loadmodel.engine import (
    EST_MAX_INTERVALS,
    ROLE_EXPORT,
    ROLE_GENERATION,
    ROLE_IMPORT,
    ROLE_SUB,
    MeterModel,
)
from meter.vector import ints, memory
from meter.vector.household import VectorHousehold
from meter.vector.legacy import VectorLegacy
from meter.vector.replay import VectorReplay

Q_ACTUAL, Q_ESTIMATED, Q_MISSING = 0, 1, 2
F_MISSING, F_ESTIMATED, F_SPIKE, F_DRIFT = 1, 2, 4, 8
QUALITY_TEXT = {Q_ACTUAL: None, Q_ESTIMATED: "estimated", Q_MISSING: "missing"}
FAULT_NAMES = ((F_MISSING, "missing"), (F_DRIFT, "clock_drift"), (F_ESTIMATED, "estimated"),
               (F_SPIKE, "spike"))


@dataclass
class Run:
    """Intervals of consecutive local days. Arrays over intervals are indexed by `I`."""

    days: np.ndarray  # [D] day numbers
    starts: np.ndarray  # [D] UTC minute each day starts
    counts: np.ndarray  # [D] intervals in each day
    first: np.ndarray  # [D] index in I of each day's first interval
    ends: np.ndarray  # [I] UTC minute each interval ends
    recorded: np.ndarray  # [I, C] Wh as recorded (0 where missing)
    true: np.ndarray  # [I, C] Wh the household used
    quality: np.ndarray  # [I] Q_*
    faults: np.ndarray  # [I] F_* bits
    outage: np.ndarray  # [D] the meter recorded nothing that day

    def day_slice(self, k: int) -> slice:
        return slice(int(self.first[k]), int(self.first[k] + self.counts[k]))

    def day_totals(self) -> np.ndarray:
        """[D, C] recorded Wh per day (0 on outage days): what the registers add."""
        rec = np.where((self.quality == Q_MISSING)[:, None], 0, self.recorded)
        out = np.add.reduceat(rec, self.first, axis=0) if len(rec) else rec
        return np.where(self.outage[:, None], 0, out)


def _wh(watts: np.ndarray, n: int) -> np.ndarray:
    """Wh of each n-minute interval from per-minute watts: (sum + 30) // 60, as int64."""
    if n == 1:  # in the watts' own width (int32 halves the traffic), then widened
        s = watts + watts.dtype.type(30)
        s //= 60
        return s.astype(np.int64, copy=False)
    s = watts.reshape(-1, n).sum(axis=1, dtype=np.int64)
    s += 30
    s //= 60
    return s


def labels_of(bits: int) -> list[str]:
    return [name for bit, name in FAULT_NAMES if bits & bit]


class VectorMeter:
    def __init__(self, cfg: dict):
        memory.keep_freed_memory()  # the engine is page-fault bound without it (memory.py)
        self.m = MeterModel(cfg)
        self.cfg = cfg
        if cfg["load_model"] == "household":
            self.load = VectorHousehold(cfg, self.m.zone)
        elif cfg["load_model"] == "replay":
            self.load = VectorReplay(self.m.load)
        else:
            self.load = VectorLegacy(cfg, self.m.zone)
        self._starts = np.array(self.m.zone.starts, dtype=np.int64)
        self._offsets = np.array(self.m.zone.offsets, dtype=np.int64)

    def _day_starts(self, days: np.ndarray) -> np.ndarray:
        """Zone.day_start for each day, vectorised; rare gap days fall back to the model."""
        local = days * 1440
        best = np.full(len(days), np.iinfo(np.int64).max, dtype=np.int64)
        for probe in (local - 1440, local + 1440):
            off = self._offset_at(probe)
            u = local - off
            ok = self._offset_at(u) == off
            best = np.where(ok & (u < best), u, best)
        for k in np.nonzero(best == np.iinfo(np.int64).max)[0]:
            best[k] = self.m.zone.day_start(int(days[k]))
        return best

    def _offset_at(self, utc: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self._starts, utc, side="right") - 1
        return self._offsets[np.maximum(i, 0)]

    def run(self, first_day: int, last_day: int) -> Run:
        """Every interval of local days first_day..last_day inclusive."""
        m = self.m
        n = m.interval
        days = np.arange(first_day, last_day + 2, dtype=np.int64)
        starts = self._day_starts(days)
        days = days[:-1]
        counts = (starts[1:] - starts[:-1]) // n
        starts = starts[:-1]
        drift = np.array([m.drift(int(d)) for d in days], dtype=np.int64)
        u0 = int(starts[0]) - int(drift.max())
        u1 = int(starts[-1] + counts[-1] * n)
        minutes = self._minutes(u0, u1)

        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        total = int(counts.sum())
        # Interval k of day d ends at starts[d] + (k - first[d] + 1) * n. Days tile time (each
        # starts where the one before ended), so that is one arithmetic run from the first day.
        day_base = starts - first * n
        if (day_base == day_base[0]).all():
            ends = np.arange(int(starts[0]) + n, int(starts[0]) + (total + 1) * n, n,
                             dtype=np.int64)
        else:
            ends = np.repeat(day_base + n, counts) + np.arange(total, dtype=np.int64) * n
        # Per-interval day index and position, made only when drift or faults need them.
        day_of = np.repeat(np.arange(len(days)), counts) if (drift.any() or m.missing_p or
                                                             m.estimated_p or m.spike_p) else None
        drift_min = int(drift.max())
        # Without drift the intervals tile [u0, u1) exactly: sum them by reshaping.
        t_imp, t_exp, t_gen = (None if v is None else _wh(v[drift_min:], n) for v in minutes)
        true = self._split(t_imp, t_exp, t_gen, ends)
        if drift_min:
            prefix = [None if v is None else np.concatenate([[0], np.cumsum(v, dtype=np.int64)])
                      for v in minutes]
            offs = ends - n - drift[day_of] - u0
            r_imp, r_exp, r_gen = (None if p is None else (p[offs + n] - p[offs] + 30) // 60
                                   for p in prefix)
            faults = np.where(drift[day_of] > 0, F_DRIFT, 0).astype(np.int64)
        else:
            r_imp, r_exp, r_gen = t_imp, t_exp, t_gen
            faults = np.zeros(total, dtype=np.int64)
        quality = np.zeros(total, dtype=np.int64)
        if not (m.missing_p or m.estimated_p or m.spike_p):
            recorded = true if not drift_min else self._split(r_imp, r_exp, r_gen, ends)
        else:
            dd = days[day_of]
            i_in_day = np.arange(total, dtype=np.int64) - np.repeat(first, counts)
            missing = self._missing(dd, i_in_day)
            est_first, est_len = self._estimated(dd, i_in_day, counts[day_of])
            est = (est_len > 0) & ~missing
            r_imp, r_exp, r_gen = (None if v is None else
                                   self._block_mean(v, est, est_first, est_len, i_in_day)
                                   for v in (r_imp, r_exp, r_gen))
            spike = self._spike(dd, i_in_day) * (~missing & ~est)
            r_imp = np.where(spike > 0, r_imp * spike, r_imp)
            recorded = self._split(r_imp, r_exp, r_gen, ends)
            recorded[missing] = 0
            quality[est] = Q_ESTIMATED
            quality[missing] = Q_MISSING
            faults = np.where(missing, F_MISSING, faults | np.where(est, F_ESTIMATED, 0)
                              | np.where(spike > 0, F_SPIKE, 0))
        outage = np.array([m.outage(int(d)) for d in days], dtype=bool)
        return Run(days=days, starts=starts, counts=counts, first=first, ends=ends,
                   recorded=recorded, true=true, quality=quality, faults=faults, outage=outage)

    # -- energies -----------------------------------------------------------------------------

    def _minutes(self, u0: int, u1: int):
        """Per-minute import, export and generation watts over UTC [u0, u1).

        Export and generation are None for a meter without PV (all zero). The local grid is
        read in runs of constant UTC offset: slices, not a gather per minute.
        """
        if isinstance(self.load, VectorReplay):
            return self.load.utc_minutes(u0, u1), None, None
        first_off = int(self._offset_at(np.array([u0]))[0])
        last_off = int(self._offset_at(np.array([u1 - 1]))[0])
        gd0 = (u0 + min(first_off, last_off) - 1440) // 1440
        gd1 = (u1 + max(first_off, last_off) + 1440) // 1440
        zs = self._starts
        inside = zs[(zs > u0) & (zs < u1)]
        bounds = [u0, *[int(b) for b in inside], u1]
        local_days = np.arange(gd0, gd1 + 1, dtype=np.int64)
        cons, pv = self.load.grid(local_days)
        cons = cons.reshape(-1)
        pv = pv.reshape(-1) if pv is not None else None
        base = gd0 * 1440
        pieces_c, pieces_p = [], []
        for sa, sb in zip(bounds[:-1], bounds[1:], strict=True):
            off = int(self._offset_at(np.array([sa]))[0])
            lo = sa + off - base
            pieces_c.append(cons[lo: lo + (sb - sa)])
            if pv is not None:
                pieces_p.append(pv[lo: lo + (sb - sa)])
        c = np.concatenate(pieces_c) if len(pieces_c) > 1 else pieces_c[0]
        if pv is None:
            return c, None, None
        p = np.concatenate(pieces_p) if len(pieces_p) > 1 else pieces_p[0]
        net = c.astype(np.int64) - p
        return np.maximum(net, 0), np.maximum(-net, 0), p

    # -- faults (MeterModel.missing / estimated_block / spike) --------------------------------

    def _missing(self, days, i):
        m = self.m
        out = np.zeros(len(i), dtype=bool)
        if m.missing_p == 0:
            return out
        for r in range(m.run_max):
            j = i - r
            ok = j >= 0
            jj = np.maximum(j, 0)
            start = ints.draw(m.seed, rng.S_FAULT_INTERVAL, days, jj * 8).astype(np.int64) < m.missing_p
            length = 1 + ints.below(m.seed, rng.S_FAULT_INTERVAL, days, jj * 8 + 1, m.run_max)
            out |= ok & start & (jj + length > i)
        return out

    def _est_start(self, days, j):
        return ints.draw(self.m.seed, rng.S_FAULT_INTERVAL, days, j * 8 + 2).astype(np.int64) \
            < self.m.estimated_p

    def _estimated(self, days, i, count):
        """(first, length) of each interval's estimated block; length 0 where there is none."""
        m = self.m
        first = np.zeros(len(i), dtype=np.int64)
        length = np.zeros(len(i), dtype=np.int64)
        if m.estimated_p == 0:
            return first, length
        found = np.zeros(len(i), dtype=bool)
        for r in range(EST_MAX_INTERVALS):
            j = i - r
            valid = (j >= 0) & ~found
            jj = np.maximum(j, 0)
            is_start = self._est_start(days, jj) & valid
            if not is_start.any():
                continue
            ln = 2 + ints.below(m.seed, rng.S_FAULT_INTERVAL, days, jj * 8 + 3, EST_MAX_INTERVALS - 1)
            ln = np.minimum(ln, count - jj)
            cut = ln.copy()
            done = np.zeros(len(i), dtype=bool)
            for k in range(1, EST_MAX_INTERVALS):
                nxt = self._est_start(days, jj + k) & (k < ln) & ~done
                cut = np.where(nxt, k, cut)
                done |= nxt
            covers = is_start & (jj + cut > i)
            first = np.where(covers, jj, first)
            length = np.where(covers, cut, length)
            found |= is_start
        return first, length

    @staticmethod
    def _block_mean(v, est, first, length, i_in_day):
        if not est.any():
            return v
        # Block sums via prefix sums over all intervals (blocks never cross a day).
        idx = np.arange(len(v), dtype=np.int64)
        p = np.concatenate([[0], np.cumsum(v)])
        b0 = idx - (i_in_day - first)
        tot = p[np.where(est, b0 + length, 0)] - p[np.where(est, b0, 0)]
        ln = np.where(est, length, 1)
        last = est & (i_in_day == first + length - 1)
        val = tot // ln + np.where(last, tot % ln, 0)
        return np.where(est, val, v)

    def _spike(self, days, i):
        m = self.m
        if m.spike_p == 0:
            return np.zeros(len(i), dtype=np.int64)
        hit = ints.draw(m.seed, rng.S_FAULT_INTERVAL, days, i * 8 + 4).astype(np.int64) < m.spike_p
        k = 20 + ints.below(m.seed, rng.S_FAULT_INTERVAL, days, i * 8 + 5, 81)
        return np.where(hit, k, 0)

    # -- channels (MeterModel.split) ----------------------------------------------------------

    def _split(self, imp, exp, gen, ends):
        m = self.m
        chans = m.channels
        if len(chans) == 1:
            return imp[:, None]
        if exp is None:
            exp = gen = np.zeros(len(imp), dtype=np.int64)
        chans = m.channels
        out = np.zeros((len(imp), len(chans)), dtype=np.int64)
        weights = {}
        w_total = np.zeros(len(imp), dtype=np.int64)
        if m.sub_total:
            for ci, ch in enumerate(chans):
                if ch[1] == ROLE_SUB:
                    w = ch[2] * (850 + ints.below(m.seed, rng.S_SHARE, ends, ci, 301))
                    weights[ci] = w
                    w_total = w_total + w
        acc = np.zeros(len(imp), dtype=np.int64)
        prev = np.zeros(len(imp), dtype=np.int64)
        safe_total = np.where(w_total > 0, w_total, 1)
        for ci, ch in enumerate(chans):
            role = ch[1]
            if role == ROLE_IMPORT:
                out[:, ci] = imp
            elif role == ROLE_SUB:
                acc = acc + weights[ci]
                cum = (imp * acc) // safe_total
                out[:, ci] = cum - prev
                prev = cum
            elif role == ROLE_EXPORT:
                out[:, ci] = exp
            elif role == ROLE_GENERATION:
                out[:, ci] = gen
            else:
                out[:, ci] = (imp * ch[2] + 500) // 1000
        return out
