# Sunrise, sunset, the sun's height and rooftop PV output, in integers (see fixed.py for why).
# Accurate to a few minutes, which is all lighting and rooftop PV need.

from core import civil
from loadmodel import rng
from loadmodel.fixed import ONE, TURN, acos_ba, cos_ba, degrees_e4_to_ba, isqrt, sin_ba

_SIN_TILT = 13035  # sin(23.44 deg) * ONE
_SIN_HORIZON = -476  # sin(-0.833 deg) * ONE: refraction and the sun's radius at rise and set


def declination(doy):
    """(sin, cos) of the sun's declination on a 0-based day of the year, times ONE."""
    lam = ((doy - 79) * TURN) // 365
    sd = (_SIN_TILT * sin_ba(lam)) >> 15
    return sd, isqrt(ONE * ONE - sd * sd)


def eot_minutes(doy):
    """The equation of time in minutes (apparent minus mean solar time)."""
    b = ((doy - 81) * TURN) // 364
    return (987 * sin_ba(2 * b) - 753 * cos_ba(b) - 150 * sin_ba(b)) // (100 * ONE)


def times(lat_e4, lon_e4, day, offset_min):
    """(sunrise, sunset, solar noon) in local minutes of `day`, given the day's UTC offset.

    Polar night gives sunrise == sunset == noon; midnight sun gives (noon - 720, noon + 720).
    """
    doy = civil.day_of_year(day)
    sd, cd = declination(doy)
    phi = degrees_e4_to_ba(lat_e4)
    sp = sin_ba(phi)
    cp = cos_ba(phi)
    noon = 720 - (lon_e4 * 4) // 10000 - eot_minutes(doy) + offset_min
    num = _SIN_HORIZON * ONE - sp * sd
    den = (cp * cd) >> 15
    if den <= 0:
        x = ONE if num > 0 else -ONE
    else:
        x = num // den
        if x > ONE:
            x = ONE
        elif x < -ONE:
            x = -ONE
    half = (acos_ba(x) * 1440) // TURN
    return noon - half, noon + half, noon


def height(lat_e4, day_geometry, minutes_from_noon):
    """sin of the sun's elevation (times ONE, may be negative) at minutes from solar noon.

    day_geometry: (sin lat * sin decl, cos lat * cos decl), both times ONE, from geometry().
    """
    a, b = day_geometry
    return a + ((b * cos_ba((minutes_from_noon * TURN) // 1440)) >> 15)


def geometry(lat_e4, day):
    sd, cd = declination(civil.day_of_year(day))
    phi = degrees_e4_to_ba(lat_e4)
    return (sin_ba(phi) * sd) >> 15, (cos_ba(phi) * cd) >> 15


def pv_watts(lat_e4, watts_peak, rseed, p, day, m):
    """Rooftop PV output at local minute m of a day plan `p` (its noon, geometry, cloud)."""
    s = height(lat_e4, p.geometry, m - p.noon)
    if s <= 0:
        return 0
    irr = (s * (s + 3277)) // (ONE + 3277)
    # Cloud: every 10 minutes the sun is either out or behind a cloud (more often on a
    # cloudy day), blended between those knots so output ramps rather than steps.
    q = (day * 1440 + m) // 10
    threshold = p.cloud * 655
    f0 = 30 if rng.u16(rseed, rng.S_CLOUD, q, 1) < threshold else 100
    f1 = 30 if rng.u16(rseed, rng.S_CLOUD, q + 1, 1) < threshold else 100
    f = f0 + ((f1 - f0) * (m % 10)) // 10
    return (watts_peak * irr * f * 85) // (ONE * 10000)
