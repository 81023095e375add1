# Counter-based random numbers: every draw is a pure function of (seed, stream, a, b), so any
# interval of any day can be recomputed on its own, with no generator state to carry along,
# and the numpy engine can draw the same numbers for a whole year at once.

M32 = 0xFFFFFFFF


def mix32(x):
    """A 32-bit integer hash with good avalanche (Wellons' lowbias32)."""
    x = x & M32
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & M32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & M32
    x = x ^ (x >> 16)
    return x


def draw(seed, stream, a, b):
    """A uniform 32-bit integer for (seed, stream, a, b); all four are non-negative ints."""
    x = mix32(seed ^ ((stream * 0x9E3779B1) & M32))
    x = mix32(x ^ (a & M32))
    return mix32((x + b) & M32)


def u16(seed, stream, a, b):
    """A uniform integer in [0, 65536)."""
    return draw(seed, stream, a, b) >> 16


def below(seed, stream, a, b, n):
    """A uniform integer in [0, n) for 0 < n <= 65536."""
    return ((draw(seed, stream, a, b) >> 16) * n) >> 16


def bell(seed, stream, a, b):
    """A bell-shaped integer in [-32768, 32767]: the mean of two uniforms, minus the middle.

    Its standard deviation is about 13377 (65536 / sqrt(24)).
    """
    x = draw(seed, stream, a, b)
    return (((x >> 16) + (x & 0xFFFF)) >> 1) - 32768


def jitter(h, m, n):
    """A cheap uniform integer in [0, n) for minute m of a day whose hash is h.

    Half of mix32 over (h ^ m): good enough for a few percent of minute-to-minute jitter, and
    it is the one draw made for every minute of every meter, so it must be fast everywhere.
    """
    x = ((h ^ m) * 0x7FEB352D) & M32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & M32
    return ((x >> 16) * n) >> 16


# Streams: one number per purpose, so adding a purpose never shifts another's draws.
S_DAY = 1
S_EVENT_COUNT = 2
S_EVENT_TIME = 3
S_EVENT_LEN = 4
S_EVENT_POWER = 5
S_MINUTE_NOISE = 6
S_WEATHER = 7
S_CLOUD = 8
S_AWAY = 9
S_SHARE = 10
S_FAULT_INTERVAL = 11
S_FAULT_DAY = 12
S_LEGACY = 13
S_FRIDGE = 14
S_SPIKE = 15
S_EV = 16
S_BULK = 17
S_EVENT_MINUTE = 18
S_INDIVIDUAL = 19
S_HOME = 20
