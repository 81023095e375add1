# The sensor meter's simulated measurements (docs/config.md, "sensors"): a DHT11 and the RP2040's
# own temperature sensor (ADC 4), following the same regional weather the load model heats
# and cools the house by (loadmodel/climate.py), so a meter's temperature chart and its
# heating load tell the same story.
#
# Integer-only and stateless like the rest of the model: a value is a pure function of the
# meter's config and the UTC minute, so the CPython meter, the Pico's fake DHT11 and fake ADC
# (tests/pico_harness/fakes/) all give the very same numbers.
#
# A measurement channel: [name, unit, decimals, sensor]. Values are integers in units of
# 10**-decimals of the unit (the DHT11's whole degrees and percent: decimals 0; the onboard
# sensor's tenths of a degree: decimals 1), written by core/dayfile_writer.py with exactly
# that many decimals.

from core import civil
from loadmodel import climate, rng
from loadmodel.fixed import TURN, cos_ba

UNIT_C = "\u00b0C"
UNIT_RH = "%RH"

# What each sensor adds to the meter: its channels, in this order.
CHANNELS = {
    "dht11": (["temperature", UNIT_C, 0, "dht11"], ["humidity", UNIT_RH, 0, "dht11"]),
    "onboard": (["onboard", UNIT_C, 1, "onboard"],),
}

S_SENSOR = 31  # the rng stream of sensor noise: far above the model's own streams
_INDOOR_BASE_C10 = 200  # the thermostat's 20 C the house drifts around
_BOARD_WARM_C10 = 30  # the RP2040 runs about 3 C above the air around it
ADC_VREF_UV = 3300000
ADC_MAX = 4095


class Weather:
    """The meter's outdoor air at any UTC minute, in tenths of a degree C, and its humidity."""

    def __init__(self, cfg):
        self.lat = cfg["latitude_e4"]
        self.lon = cfg["longitude_e4"]
        self.seed = cfg["seed"]
        self.rseed = climate.region_seed(self.lat, self.lon, cfg["weather_seed"])
        clim = cfg.get("climate") or climate.default_climate(self.lat)
        self.mean_c10 = clim[0]
        self.amp_c10 = clim[1]
        self.placement = cfg.get("sensor_placement", "indoor")
        # Local solar time: 4 minutes per degree of longitude east of Greenwich.
        self.solar_shift = (self.lon * 4) // 10000

    def day_mean(self, day):
        return climate.temp_c10(self.rseed, self.lat, day, self.mean_c10, self.amp_c10)

    def outdoor_c10(self, minute):
        """Daily means (placed at solar noon, linear between) plus a diurnal swing peaking at
        15:00 solar time, wider under a clear sky."""
        solar = minute + self.solar_shift
        day = solar // 1440
        m = solar % 1440
        if m >= 720:
            a, b, w = self.day_mean(day), self.day_mean(day + 1), m - 720
        else:
            a, b, w = self.day_mean(day - 1), self.day_mean(day), m + 720
        mean = a + ((b - a) * w) // 1440
        cloud = climate.cloud_pct(self.rseed, self.lat, day)
        swing = 20 + ((100 - cloud) * 40) // 100  # 2 C overcast .. 6 C clear
        return mean + (swing * cos_ba(((m - 900) * TURN) // 1440)) // 32768

    def indoor_c10(self, minute):
        """A house damps the outdoor swing to a quarter around its thermostat's 20 C."""
        return _INDOOR_BASE_C10 + (self.outdoor_c10(minute) - _INDOOR_BASE_C10) // 4

    def air_c10(self, minute):
        if self.placement == "outdoor":
            return self.outdoor_c10(minute)
        return self.indoor_c10(minute)

    def humidity_pct(self, minute):
        """Relative humidity: higher on cloudy days, falling as the air warms through the day;
        indoors, flatter around 50 %."""
        solar = minute + self.solar_shift
        cloud = climate.cloud_pct(self.rseed, self.lat, solar // 1440)
        outdoor = self.outdoor_c10(minute)
        rh10 = 600 + cloud * 3 - (outdoor - self.day_mean(solar // 1440)) * 3
        if self.placement != "outdoor":
            rh10 = 500 + (rh10 - 500) // 3
        rh10 += rng.below(self.seed, S_SENSOR, minute, 1, 21) - 10  # +-1 %RH of jitter
        return rh10


def _round10(v):
    """Tenths to whole units, half away from zero (a DHT11 reports whole numbers)."""
    return (v + 5) // 10 if v >= 0 else -((-v + 5) // 10)


def _clamp(v, low, high):
    return low if v < low else high if v > high else v


def dht11(weather, minute):
    """(temperature C, humidity %RH) as a DHT11 reports them: whole numbers, 0..50 C and
    20..90 %RH (its range), +-1 of the sensor's own jitter on the temperature."""
    t10 = weather.air_c10(minute) + rng.below(weather.seed, S_SENSOR, minute, 0, 11) - 5
    return _clamp(_round10(t10), 0, 50), _clamp(_round10(weather.humidity_pct(minute)), 20, 90)


def adc4_u16(weather, minute):
    """What machine.ADC(4).read_u16() returns for the board's temperature: the sensor's
    voltage (0.706 V at 27 C, -1.721 mV per C) as a 12-bit code with +-1 LSB of noise, scaled
    to 16 bits the way MicroPython's rp2 port does."""
    board_c10 = weather.indoor_c10(minute) + _BOARD_WARM_C10
    uv = 706000 - ((board_c10 - 270) * 1721) // 10
    code = (uv * ADC_MAX + ADC_VREF_UV // 2) // ADC_VREF_UV
    code = _clamp(code + rng.below(weather.seed, S_SENSOR, minute, 2, 3) - 1, 0, ADC_MAX)
    return (code << 4) | (code >> 8)


def onboard_c10(u16):
    """The RP2040's temperature in tenths of a degree from ADC 4's reading:
    27 - (V - 0.706) / 0.001721, in integers (one 12-bit step is about 0.47 C)."""
    uv = (u16 * ADC_VREF_UV + 32767) // 65535
    d = (uv - 706000) * 10
    return 270 - (d + 860) // 1721 if d >= 0 else 270 + (-d + 860) // 1721


class Simulated:
    """The sensors of a simulated meter (the Pi): every interval's reading, recomputed from
    its end."""

    def __init__(self, cfg):
        self.channels = cfg.get("sensors") or []
        self.weather = Weather(cfg)

    def read(self, end, now):
        """Per channel, the value at the end of the interval (UTC minute `end`)."""
        out = []
        pair = None
        for ch in self.channels:
            if ch[3] == "dht11":
                if pair is None:
                    pair = dht11(self.weather, end)
                out.append(pair[0] if ch[0] == "temperature" else pair[1])
            else:
                out.append(onboard_c10(adc4_u16(self.weather, end)))
        return out


# -- the open day's sensor journal: data/<day>.sensors, beside the energy journal ---------------
#
#   <i> <value per channel, or - where the sensor gave none>
#
# Apart from the energy journal, so an energy meter's journal is what it always was. A sensor
# cannot be read again later (a real one cannot look back), so its readings are kept as read;
# a line torn by a crash is dropped, and a line repeated (the interval re-recorded after a crash
# between the two appends) counts once.


def path(t, day):
    """The Ticker `t`'s sensor journal of `day`: data/<day>.sensors."""
    return t.path("data", civil.format_day(day) + ".sensors")


def record(t, day, i, end, now):
    """A sensor meter's readings for the interval ending at `end`, before its energies (the
    Ticker `t` records them): a crash between the two appends re-records the interval, and
    the repeat counts once."""
    values = t.sensors.read(end, now)
    if values is not None:
        t.fs.append(path(t, day), line(i, values))


def line(i, values):
    return "%d %s\n" % (i, " ".join(["-" if v is None else str(v) for v in values]))


def rows(lines, n, labels, last):
    """Writer rows (label, values) of intervals 0..last in order, from the journal's lines."""
    done = -1
    for text in lines:
        if not text.endswith("\n"):
            break
        parts = text.split()
        if len(parts) != n + 1:
            break
        try:
            i = int(parts[0])
            values = [None if p == "-" else int(p) for p in parts[1:]]
        except ValueError:
            break
        if i <= done:
            continue
        if i > last:
            break
        done = i
        yield labels(i), values
