"""Fake `dht` (MicroPython's DHT11/DHT22 driver, built into the rp2 port): a DHT11 that
measures the simulated weather, not a constant.

- DHT11(pin).measure(), .temperature() (whole C), .humidity() (whole %RH): the values of
  loadmodel/sensors.py's dht11() for the meter in /config.json at the fake clock's minute, so
  a Pico in the harness records exactly what the Pi meter simulates for the same config.
- DHT22 is the same with no failures knob (enough for a program that only names it).

Control knobs (control.json, section "dht"):
- "fail": n  the next n measure() calls raise OSError(110) (ETIMEDOUT: the sensor did not
  answer), as a real DHT11 sometimes does.
"""

import json

import _harness as _h

_weather = None


def _now_weather():
    global _weather
    if _weather is None:
        from loadmodel.sensors import Weather

        with open("/config.json") as f:
            _weather = Weather(json.load(f)["model"])
    return _weather


class DHT11:
    def __init__(self, pin):
        self.pin = pin
        self._t = 0
        self._h = 0

    def measure(self):
        if _h.take_failure("dht"):
            raise OSError(110)
        from loadmodel.sensors import dht11

        self._t, self._h = dht11(_now_weather(), _h.wall_ns() // 60000000000)

    def temperature(self):
        return self._t

    def humidity(self):
        return self._h


DHT22 = DHT11
