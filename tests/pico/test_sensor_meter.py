"""The sensor meter on a Pico W (issue 16, the seed's DHT11 Pico): the whole program on the
real MicroPython interpreter, its DHT11 (the fake `dht`, measuring the simulated weather) and
its onboard sensor (the fake ADC 4), delivering to a real Tempest, whose API answers the
readings with their units and whose NEM12 export leaves them out.
"""

from __future__ import annotations

import json

from core import dayfile_reader
from meter import operations
from meter.config import from_dict
from tests.pico import picotest
from tests.pico.picotest import build_image, mp_script, parse_json_lines, pico_tempest
from tests.pico_harness import runner

SENSORS = {"dht11": {"pin": 0}, "onboard": True}
DAYS = ("2024-06-01", "2024-06-02")


def cpython_days(raw: dict, root) -> dict[str, dayfile_reader.Day]:
    """The Pi meter's sealed days for the same config, ticked at every interval end."""
    cfg = from_dict(raw)
    first = picotest.epoch("2024-05-31T22:05:00") // 60
    for now in range(first, first + 2 * 1440 + 5, 5):
        operations.tick(cfg, root, now)
    return {d: dayfile_reader.parse((root / "outbox" / f"pico-1_{d}.json").read_bytes())
            for d in DAYS}


def test_sensor_pico_delivers_temperature_and_humidity_with_units(tmp_path):
    picotest.require("micropython", "mpy-cross")
    tempest = pico_tempest(tmp_path).start()
    try:
        flash = tmp_path / "flash"
        raw = picotest.raw_config(url=tempest.url + "/", sensors=SENSORS, faults={})
        build_image(flash, raw, options={"heartbeat_s": 21600})
        (flash / "month.json").write_text(json.dumps({"days": 2}))
        # Local midnight in Berlin (UTC+2): the Pico reads its sensors from the first interval.
        res = runner.run(flash, code=mp_script("month.py"), heap="256K", timeout=240,
                         control=picotest.fast("2024-05-31T22:00:00", heap={"sample": False},
                                               dht={"fail": 3}))
        assert res.ok, res.output[-3000:]
        got = parse_json_lines(res.stdout, "result ")[0]
        assert got["errors"] == 0, got
        assert set(DAYS) <= set(tempest.days("pico-1"))
        body = tempest.admin("GET", "api/v1/meters/pico-1/days/2024-06-01").json()
        one = tempest.admin("GET", "api/v1/meters/pico-1/days/2024-06-01/channels/temperature")
        energy = tempest.admin("GET", "api/v1/meters/pico-1/days/2024-06-01/channels/Total")
        nem12 = tempest.admin("GET", "api/v1/exports/nem12?from=2024-06-01&to=2024-06-02"
                              "&serial=pico-1")
        stored = {d: dayfile_reader.parse(tempest.day_file("pico-1", d)) for d in DAYS}
    finally:
        tempest.stop()

    # The API: each measurement with its unit; whole degrees and percent from the DHT11,
    # tenths from the onboard sensor; none of them an energy channel or in a kWh total.
    m = body["measurements"]
    assert list(m) == ["temperature", "humidity", "onboard"]
    assert (m["temperature"]["unit"], m["humidity"]["unit"], m["onboard"]["unit"]) == \
        ("°C", "%RH", "°C")
    assert {x["role"] for x in m.values()} == {"measurement"}
    temps = [v for v in m["temperature"]["values"] if v is not None]
    assert len(temps) >= 280 and all(type(v) is int for v in temps)
    assert len(set(temps)) > 1, "the DHT11 follows the weather, not a constant"
    assert all(20 <= v <= 90 and type(v) is int
               for v in m["humidity"]["values"] if v is not None)
    assert any(v != int(v) for v in m["onboard"]["values"] if v is not None)
    # The DHT11 failed to answer three times: those intervals have no temperature or humidity
    # (the tick went on, the onboard sensor still read). The first failure was the interval
    # ending at local midnight, the last of May 31 (the Pico's very first tick).
    silent = [i for i, (t, h, o) in enumerate(zip(m["temperature"]["values"],
                                                   m["humidity"]["values"],
                                                   m["onboard"]["values"], strict=True))
              if t is None and h is None and o is not None]
    assert silent == [0, 1], silent
    assert set(body["channels"]) == {"Total", "Main", "Sub1", "Sub2"}
    assert set(body["totals"]) == {"Total", "Main", "Sub1", "Sub2"}
    assert one.status_code == 200 and one.json()["unit"] == "°C"
    assert one.json()["role"] == "measurement"
    assert [r["value"] for r in one.json()["readings"]] == m["temperature"]["values"]
    assert energy.json()["unit"] == "kWh"

    # NEM12 carries energy only: the meter's four energy channels, no sensor channel.
    assert nem12.status_code == 200, nem12.text
    records = [line.split(",") for line in nem12.text.splitlines()]
    suffixes = {r[4] for r in records if r[0] == "200"}
    assert len(suffixes) == 4, suffixes
    assert not any(name in nem12.text for name in ("temperature", "humidity", "onboard"))
    assert not any(r[7] in ("CEL", "DEGC", "%RH", "°C") for r in records if r[0] == "200")

    # The same config on the Pi: the same energy and, where the Pico read its sensors (every
    # interval it recorded as it ended), the same measurements.
    pi = cpython_days(raw, tmp_path / "pi")
    for d in DAYS:
        assert stored[d].values == pi[d].values
        for name, mine in stored[d].measurements.items():
            theirs = pi[d].measurements[name]["values"]
            pairs = [(a, b) for a, b in zip(mine["values"], theirs, strict=True) if a is not None]
            assert len(pairs) >= 280 and all(a == b for a, b in pairs), name
