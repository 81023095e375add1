"""Integer primitives of loadmodel.fixed and loadmodel.rng, on numpy arrays."""

from __future__ import annotations

import numpy as np

from loadmodel import fixed, rng

_SIN = np.array(fixed.SIN_TABLE + (fixed.SIN_TABLE[256],), dtype=np.int64)
_M32 = np.uint32(0xFFFFFFFF)


def u32(a) -> np.ndarray:
    return (np.asarray(a, dtype=np.int64) & 0xFFFFFFFF).astype(np.uint32)


def mix32(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def draw(seed: int, stream: int, a, b) -> np.ndarray:
    """rng.draw for arrays a, b (broadcast); uint32 arithmetic wraps exactly like `& M32`."""
    with np.errstate(over="ignore"):
        s = np.uint32(rng.mix32(seed ^ ((stream * 0x9E3779B1) & rng.M32)))
        x = mix32(s ^ u32(a))
        return mix32(x + u32(b))


def jitter(h: np.ndarray, m: np.ndarray, n: int) -> np.ndarray:
    """rng.jitter on arrays (h per day as [D, 1], m per minute as [1, 1440]), as int32.

    Made in place in one uint32 array: it is the one draw for every minute of every meter,
    and temporaries of the [D, 1440] grid cost more than the arithmetic.
    """
    x = np.empty(np.broadcast_shapes(np.shape(h), np.shape(m)), dtype=np.uint32)
    np.bitwise_xor(u32(h), u32(m), out=x)
    with np.errstate(over="ignore"):
        np.multiply(x, np.uint32(0x7FEB352D), out=x)
        np.bitwise_xor(x, x >> np.uint32(15), out=x)
        np.multiply(x, np.uint32(0x846CA68B), out=x)
    np.right_shift(x, np.uint32(16), out=x)
    r = x.view(np.int32)  # now below 65536: the same value as int32
    np.multiply(r, np.int32(n), out=r)
    np.right_shift(r, 16, out=r)
    return r


def u16(seed, stream, a, b) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (draw(seed, stream, a, b) >> np.uint32(16)).astype(np.int64)


def below(seed, stream, a, b, n) -> np.ndarray:
    return (u16(seed, stream, a, b) * n) >> 16


def bell(seed, stream, a, b) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = draw(seed, stream, a, b).astype(np.int64)
    return (((x >> 16) + (x & 0xFFFF)) >> 1) - 32768


def sin_ba(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64) & 0xFFFF
    quadrant = a >> 14
    r = a & 0x3FFF
    r = np.where(quadrant & 1, fixed.QUARTER - r, r)
    i = r >> 6
    frac = r & 63
    lo = _SIN[np.minimum(i, 256)]
    hi = _SIN[np.minimum(i + 1, 257)]
    v = np.where(i >= 256, _SIN[256], lo + (((hi - lo) * frac) >> 6))
    return np.where(quadrant >= 2, -v, v)


def cos_ba(a) -> np.ndarray:
    return sin_ba(np.asarray(a, dtype=np.int64) + fixed.QUARTER)


_SIN_QUARTER = None


def asin_pos(x) -> np.ndarray:
    """fixed.asin_pos: the largest b in [0, QUARTER] with sin_ba(b) <= x (0 where none is).

    fixed.asin_pos finds it by bisection; sin_ba does not decrease on [0, QUARTER], so the
    same b is a search in the table of every sin_ba(b) there, made once."""
    global _SIN_QUARTER
    if _SIN_QUARTER is None:
        _SIN_QUARTER = sin_ba(np.arange(fixed.QUARTER + 1, dtype=np.int64))
    x = np.asarray(x, dtype=np.int64)
    return np.maximum(np.searchsorted(_SIN_QUARTER, x, side="right") - 1, 0)


def acos_ba(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    pos = fixed.QUARTER - asin_pos(np.abs(x))
    neg = fixed.QUARTER + asin_pos(np.abs(x))
    out = np.where(x >= 0, pos, neg)
    out = np.where(x >= fixed.ONE, 0, out)
    return np.where(x <= -fixed.ONE, 2 * fixed.QUARTER, out)


def isqrt(n) -> np.ndarray:
    n = np.asarray(n, dtype=np.int64)
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(np.int64)
    # float sqrt can be off by one near perfect squares: correct to the exact floor.
    r = np.where(r * r > n, r - 1, r)
    return np.where((r + 1) * (r + 1) <= n, r + 1, r)
