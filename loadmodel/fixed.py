# Integer trigonometry on binary angles (65536 per turn), scaled by ONE (2**15).
#
# Floats would give different last bits on CPython, numpy's SIMD loops and the Pico's
# single-precision MicroPython, and one flipped rounding changes a Wh. Integers never do.

ONE = 32768
TURN = 65536
QUARTER = 16384

# sin(i * 90deg / 256) * 32768, rounded, for i in 0..256. A literal, not computed, so every
# interpreter holds the same numbers.
SIN_TABLE = (
    0, 201, 402, 603, 804, 1005, 1206, 1407, 1608, 1809, 2009, 2210,
    2411, 2611, 2811, 3012, 3212, 3412, 3612, 3812, 4011, 4211, 4410, 4609,
    4808, 5007, 5205, 5404, 5602, 5800, 5998, 6195, 6393, 6590, 6787, 6983,
    7180, 7376, 7571, 7767, 7962, 8157, 8351, 8546, 8740, 8933, 9127, 9319,
    9512, 9704, 9896, 10088, 10279, 10469, 10660, 10850, 11039, 11228, 11417, 11605,
    11793, 11980, 12167, 12354, 12540, 12725, 12910, 13095, 13279, 13463, 13646, 13828,
    14010, 14192, 14373, 14553, 14733, 14912, 15091, 15269, 15447, 15624, 15800, 15976,
    16151, 16326, 16500, 16673, 16846, 17018, 17190, 17361, 17531, 17700, 17869, 18037,
    18205, 18372, 18538, 18703, 18868, 19032, 19195, 19358, 19520, 19681, 19841, 20001,
    20160, 20318, 20475, 20632, 20788, 20943, 21097, 21251, 21403, 21555, 21706, 21856,
    22006, 22154, 22302, 22449, 22595, 22740, 22884, 23028, 23170, 23312, 23453, 23593,
    23732, 23870, 24008, 24144, 24279, 24414, 24548, 24680, 24812, 24943, 25073, 25202,
    25330, 25457, 25583, 25708, 25833, 25956, 26078, 26199, 26320, 26439, 26557, 26674,
    26791, 26906, 27020, 27133, 27246, 27357, 27467, 27576, 27684, 27791, 27897, 28002,
    28106, 28209, 28311, 28411, 28511, 28610, 28707, 28803, 28899, 28993, 29086, 29178,
    29269, 29359, 29448, 29535, 29622, 29707, 29792, 29875, 29957, 30038, 30118, 30196,
    30274, 30350, 30425, 30499, 30572, 30644, 30715, 30784, 30853, 30920, 30986, 31050,
    31114, 31177, 31238, 31298, 31357, 31415, 31471, 31527, 31581, 31634, 31686, 31737,
    31786, 31834, 31881, 31927, 31972, 32015, 32058, 32099, 32138, 32177, 32214, 32251,
    32286, 32319, 32352, 32383, 32413, 32442, 32470, 32496, 32522, 32546, 32568, 32590,
    32610, 32629, 32647, 32664, 32679, 32693, 32706, 32718, 32729, 32738, 32746, 32753,
    32758, 32762, 32766, 32767, 32768,)


def sin_ba(a):
    """sin of a binary angle, times ONE."""
    a = a & 0xFFFF
    quadrant = a >> 14
    r = a & 0x3FFF
    if quadrant & 1:
        r = QUARTER - r
    i = r >> 6
    frac = r & 63
    if i >= 256:
        v = SIN_TABLE[256]
    else:
        v = SIN_TABLE[i] + (((SIN_TABLE[i + 1] - SIN_TABLE[i]) * frac) >> 6)
    if quadrant >= 2:
        return -v
    return v


def cos_ba(a):
    return sin_ba(a + QUARTER)


def asin_pos(x):
    """The binary angle b in [0, QUARTER] whose sine is closest below x (0 <= x <= ONE)."""
    lo = 0
    hi = QUARTER
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if sin_ba(mid) <= x:
            lo = mid
        else:
            hi = mid - 1
    return lo


def acos_ba(x):
    """acos of x (times ONE, clamped to [-ONE, ONE]) as a binary angle in [0, TURN/2]."""
    if x >= ONE:
        return 0
    if x <= -ONE:
        return 2 * QUARTER
    if x >= 0:
        return QUARTER - asin_pos(x)
    return QUARTER + asin_pos(-x)


def isqrt(n):
    """floor(sqrt(n)) for a non-negative integer."""
    if n <= 0:
        return 0
    x = 1
    while x * x <= n:
        x = x << 1
    # Newton's method from above converges to the floor.
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


def degrees_e4_to_ba(deg_e4):
    """Degrees times 10**4 to a binary angle."""
    return (deg_e4 * TURN) // 3600000
