# When appliances start in a household's day: the start-time distributions a day's plan draws
# from (loadmodel/planner.py and services.py use them; the vector engine mirrors them in
# numpy). Read only to plan a day, so a Pico unloads this module between plans
# (Household.plan_only_modules); the minute's activity and darkness are household.py's.

_MAX_SLOTS = 12


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
