# The seed's 24-value profile, made smooth and stochastic.
#
# The seed drew each interval as profile[hour] * (1 +- variability): flat hourly steps with
# white noise. Here the hourly values are joined smoothly (interpolated between hour centres)
# and the noise is smooth too (random knots every 20 minutes, blended), with a day-to-day
# level, so a seed config keeps its magnitudes and daily shape but looks like a real load.

from loadmodel import rng

# Public: the vector engine (meter/vector/legacy.py) must use the same knot spacing.
KNOT_MINUTES = 20


class LegacyProfile:
    """`cfg["profile_w"]`: 24 mean powers in W (the seed's kWh per interval, converted)."""

    def __init__(self, cfg, zone):
        self.seed = cfg["seed"]
        self.zone = zone
        self.profile = cfg["profile_w"]
        self.variability = cfg["variability_permille"]

    def level(self, m):
        y = m - 30
        h0 = (y // 60) % 24
        f = y % 60
        a0 = self.profile[h0]
        return a0 + ((self.profile[(h0 + 1) % 24] - a0) * f) // 60

    def _knot(self, k):
        return rng.bell(self.seed, rng.S_LEGACY, k, 0)

    def minute(self, day, m):
        v = self.variability
        k = (day * 1440 + m) // KNOT_MINUTES
        n0 = self._knot(k)
        n1 = self._knot(k + 1)
        noise = n0 + ((n1 - n0) * (m % KNOT_MINUTES)) // KNOT_MINUTES
        day_level = rng.bell(self.seed, rng.S_LEGACY, day, 1)
        factor = 1000 + (v * noise) // 8192 + (v * day_level) // 32768
        if factor < 0:
            factor = 0
        return (self.level(m) * factor) // 1000, 0
