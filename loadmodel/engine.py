# The per-tick engine: one meter, one interval at a time, plain Python (runs on a Pico W).
#
# It turns the load model's minutes into interval energies per channel (integer Wh), applies
# the meter's deliberate faults, and says which faults it applied (the ground truth).
# meter/vector/engine.py produces identical numbers in bulk; tests hold them to it.

from loadmodel import rng

ROLE_IMPORT = "import"
ROLE_SUB = "sub"
ROLE_EXPORT = "export"
ROLE_GENERATION = "generation"
ROLE_INDEPENDENT = "independent"

# Longest estimated block, in intervals. Public: the vector engine must agree.
EST_MAX_INTERVALS = 6


def to_wh(wmin):
    """Watt-minutes to whole Wh, rounding half up."""
    return (wmin + 30) // 60


class MeterModel:
    def __init__(self, cfg, zone=None):
        # Once per meter: loadmodel/engine_setup.py, which a Pico unloads afterwards.
        from loadmodel import engine_setup

        engine_setup.setup(self, cfg, zone)

    # -- the day's grid -----------------------------------------------------------------------

    def day_grid(self, day):
        """(UTC minute the day starts, number of intervals in the day)."""
        start = self.zone.day_start(day)
        end = self.zone.day_start(day + 1)
        return start, (end - start) // self.interval

    # -- raw energies ---------------------------------------------------------------------------

    def raw(self, start, end):
        """(import, export, generation) in Wh over UTC minutes [start, end), no faults."""
        if self.replay:
            return self.load.energy(start, end), 0, 0
        zone = self.zone
        load = self.load
        imp = 0
        exp = 0
        gen = 0
        off = zone.offset_at(start)
        steady = zone.offset_at(end - 1) == off
        for u in range(start, end):
            if not steady:
                off = zone.offset_at(u)
            local = u + off
            day = local // 1440
            c, pv = load.minute(day, local - day * 1440)
            net = c - pv
            if net > 0:
                imp += net
            else:
                exp -= net
            gen += pv
        return to_wh(imp), to_wh(exp), to_wh(gen)

    def drift(self, day):
        """Minutes the meter's clock runs ahead on `day` (it resyncs every `resync` days)."""
        if self.drift_s == 0:
            return 0
        return (((day - self.commissioned) % self.resync) * self.drift_s) // 60

    # -- faults ------------------------------------------------------------------------------

    def outage(self, day):
        return self.outage_p > 0 and rng.draw(self.seed, rng.S_FAULT_DAY, day, 0) < self.outage_p

    def late_days(self, day):
        if self.late_p == 0 or rng.draw(self.seed, rng.S_FAULT_DAY, day, 1) >= self.late_p:
            return 0
        return 1 + rng.below(self.seed, rng.S_FAULT_DAY, day, 2, self.late_max)

    def duplicate(self, day):
        return (self.duplicate_p > 0
                and rng.draw(self.seed, rng.S_FAULT_DAY, day, 3) < self.duplicate_p)

    def missing(self, day, i):
        if self.missing_p == 0:
            return False
        seed = self.seed
        for j in range(i - self.run_max + 1, i + 1):
            if j < 0:
                continue
            if rng.draw(seed, rng.S_FAULT_INTERVAL, day, j * 8) < self.missing_p:
                if j + 1 + rng.below(seed, rng.S_FAULT_INTERVAL, day, j * 8 + 1,
                                     self.run_max) > i:
                    return True
        return False

    def estimated_block(self, day, i, count):
        """(first, length) of the estimated block holding interval i, or None."""
        if self.estimated_p == 0:
            return None
        seed = self.seed
        for j in range(i, i - EST_MAX_INTERVALS, -1):
            if j < 0:
                break
            if self._est_start(day, j):
                length = 2 + rng.below(seed, rng.S_FAULT_INTERVAL, day, j * 8 + 3, EST_MAX_INTERVALS - 1)
                if j + length > count:
                    length = count - j
                # A block ends where the next one starts, so blocks never overlap and each
                # keeps its energy.
                for k in range(j + 1, j + length):
                    if self._est_start(day, k):
                        length = k - j
                        break
                if j + length > i:
                    return j, length
                return None
        return None

    def _est_start(self, day, j):
        return rng.draw(self.seed, rng.S_FAULT_INTERVAL, day, j * 8 + 2) < self.estimated_p

    def spike(self, day, i):
        """The spike's multiplier for interval i, or 0."""
        if self.spike_p == 0:
            return 0
        if rng.draw(self.seed, rng.S_FAULT_INTERVAL, day, i * 8 + 4) >= self.spike_p:
            return 0
        return 20 + rng.below(self.seed, rng.S_FAULT_INTERVAL, day, i * 8 + 5, 81)

    # -- channels ----------------------------------------------------------------------------

    def split(self, imp, exp, gen, end):
        """Channel values (Wh) from the interval's import, export and generation."""
        out = []
        sub_cum = 0
        sub_w_total = 0
        weights = None
        if self.sub_total:
            # Sub-circuit shares wander from interval to interval, and are apportioned
            # cumulatively so the subs always add up to the import exactly.
            weights = []
            for ci in range(len(self.channels)):
                ch = self.channels[ci]
                if ch[1] == ROLE_SUB:
                    w = ch[2] * (850 + rng.below(self.seed, rng.S_SHARE, end, ci, 301))
                    weights.append(w)
                    sub_w_total += w
                else:
                    weights.append(0)
        acc = 0
        for ci in range(len(self.channels)):
            role = self.channels[ci][1]
            if role == ROLE_IMPORT:
                out.append(imp)
            elif role == ROLE_SUB:
                acc += weights[ci]
                cum = (imp * acc) // sub_w_total
                out.append(cum - sub_cum)
                sub_cum = cum
            elif role == ROLE_EXPORT:
                out.append(exp)
            elif role == ROLE_GENERATION:
                out.append(gen)
            else:
                out.append((imp * self.channels[ci][2] + 500) // 1000)
        return out

    # -- one interval ------------------------------------------------------------------------

    def true_interval(self, day, i):
        """Channel values of interval i of `day` as the household used them (no faults)."""
        start, _ = self.day_grid(day)
        a = start + i * self.interval
        imp, exp, gen = self.raw(a, a + self.interval)
        return self.split(imp, exp, gen, a + self.interval)

    def recorded_interval(self, day, i, start=None, count=None):
        """(values, quality, labels): what the meter records for interval i of `day`.

        values: channel Wh list, or None when missing; quality: None (actual), "estimated" or
        "missing"; labels: the faults behind it, for the ground truth. Outage days are the
        caller's business (the meter records nothing at all that day).
        """
        if start is None:
            start, count = self.day_grid(day)
        n = self.interval
        end = start + (i + 1) * n
        if self.missing(day, i):
            return None, "missing", ["missing"]
        labels = []
        shift = self.drift(day)
        if shift:
            labels.append("clock_drift")
        block = self.estimated_block(day, i, count)
        if block is not None:
            first, length = block
            ti = 0
            te = 0
            tg = 0
            for j in range(first, first + length):
                a = start + j * n - shift
                imp, exp, gen = self.raw(a, a + n)
                ti += imp
                te += exp
                tg += gen
            last = i == first + length - 1
            imp = ti // length + (ti % length if last else 0)
            exp = te // length + (te % length if last else 0)
            gen = tg // length + (tg % length if last else 0)
            labels.append("estimated")
            return self.split(imp, exp, gen, end), "estimated", labels
        a = start + i * n - shift
        imp, exp, gen = self.raw(a, a + n)
        k = self.spike(day, i)
        if k:
            imp = imp * k
            labels.append("spike")
        return self.split(imp, exp, gen, end), None, labels
