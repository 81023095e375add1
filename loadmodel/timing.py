# When things happen in a household's day: activity at a minute, darkness around dusk and
# dawn, and the start-time distributions of appliances (loadmodel/household.py uses them; the
# vector engine mirrors them in numpy).

_MAX_SLOTS = 12


def activity_at(profile, x):
    """Activity 0..100 at local minute x, interpolated between the hourly values (at :30)."""
    y = x - 30
    h0 = (y // 60) % 24
    f = y % 60
    a0 = profile[h0]
    return a0 + ((profile[(h0 + 1) % 24] - a0) * f) // 60


def darkness(m, sunrise, sunset):
    """0..64: how much light a home needs at local minute m (ramps around dusk and dawn)."""
    dm = sunrise + 20 - m
    de = m - (sunset - 20)
    d = dm if dm > de else de
    if d >= 30:
        return 64
    if d <= -30:
        return 0
    return ((d + 30) * 64) // 60


def slot_count(uses_wd, uses_we):
    top = uses_wd if uses_wd > uses_we else uses_we
    k = (2 * top + 99) // 100
    if k < 2:
        return 2
    if k > _MAX_SLOTS:
        return _MAX_SLOTS
    return k


def build_cdf(pref, activity):
    """Cumulative start-time weights over 96 quarter hours."""
    cdf = []
    total = 0
    for q in range(96):
        h = q // 4
        total += pref[h] * activity[h]
        cdf.append(total)
    return cdf


def pick_bin(cdf, u):
    """The quarter hour whose cumulative weight first exceeds u (0..65535) of the total."""
    target = (u * cdf[95]) >> 16
    lo = 0
    hi = 95
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def season_factor(sensitivity, temp_c10):
    """Permille use factor: more use in cold weather for a positive sensitivity (percent)."""
    return 1000 + (sensitivity * (150 - temp_c10)) // 25
