# Regional weather without state: a day's temperature and cloud come from hashed noise over
# the last few days (a moving average gives realistic persistence), keyed by region, not by
# meter, so neighbouring meters share a cloudy day or a cold snap, as real fleets do.

from core import civil
from loadmodel import rng
from loadmodel.fixed import TURN, cos_ba

_WEIGHTS = (6, 5, 4, 3, 2, 1)  # today's noise weighs most; sum 21


def region_seed(lat_e4, lon_e4, weather_seed):
    """One weather per 1-degree square (about 100 km)."""
    return rng.mix32(((lat_e4 // 10000 + 90) * 360 + (lon_e4 // 10000 + 180)) ^ weather_seed)


def normal_temp_c10(lat_e4, day, mean_c10, amplitude_c10):
    """Seasonal normal temperature in tenths of a degree C; the coldest day is ~20 Jan in the
    north and ~20 July in the south."""
    doy = civil.day_of_year(day)
    if lat_e4 < 0:
        doy = doy + 182
    return mean_c10 - (amplitude_c10 * cos_ba(((doy - 20) * TURN) // 365)) // 32768


def default_climate(lat_e4):
    """(mean, amplitude) in tenths of a degree C from latitude alone, for mid latitudes."""
    a = lat_e4 if lat_e4 >= 0 else -lat_e4
    mean = 300 - (4 * a) // 10000
    amp = (17 * a) // 100000
    return mean, amp


def temp_c10(rseed, lat_e4, day, mean_c10, amplitude_c10):
    """The day's mean temperature: the normal plus a persistent anomaly (sd about 3 C)."""
    anomaly = 0
    for k in range(6):
        anomaly += _WEIGHTS[k] * rng.bell(rseed, rng.S_WEATHER, day - k, 0)
    # sum of weights 21, bell sd ~13377: scale so the anomaly's sd is ~30 (3.0 C)
    anomaly = (anomaly * 30) // (21 * 8000)
    return normal_temp_c10(lat_e4, day, mean_c10, amplitude_c10) + anomaly


def cloud_pct(rseed, lat_e4, day):
    """The day's cloudiness 0..100: cloudier in winter, with spells of several days."""
    doy = civil.day_of_year(day)
    if lat_e4 < 0:
        doy = doy + 182
    seasonal = 55 + (15 * cos_ba(((doy - 10) * TURN) // 365)) // 32768
    total = 0
    for k in range(3):
        total += (3 - k) * (rng.u16(rseed, rng.S_CLOUD, day - k, 0) - 32768)
    c = seasonal + (total * 70) // (6 * 32768)
    if c < 0:
        return 0
    if c > 100:
        return 100
    return c
