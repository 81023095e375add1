"""The sensor meter on the Pi (docs/config.md, "sensors"): temperature and humidity channels
beside the energy ones, with their own units, never in the energy registers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import civil, dayfile_reader
from meter import operations
from meter.config import ConfigError, from_dict

ROOT = Path(__file__).resolve().parents[2]
BASE = {"serial": "sens-1", "timezone": "Pacific/Auckland", "commissioned": "2025-06-01",
        "location": {"latitude": -36.85, "longitude": 174.76, "country": "NZ"},
        "channels": {"Total": 1.0, "Main": 0.6, "Sub1": 0.4}}
SENSOR = {**BASE, "sensors": {"dht11": {"pin": 0}, "onboard": True}}
# 2025-06-01 00:00 in Auckland (UTC+12) is 2025-05-31 12:00 UTC.
DAY_START = civil.parse_day("2025-05-31") * 1440 + 720


def tick_days(raw: dict, root: Path, days: int) -> None:
    cfg = from_dict(raw)
    for now in range(DAY_START + 5, DAY_START + days * 1440 + 6, 60):
        operations.tick(cfg, root, now)


def test_sensor_meter_writes_measurements_with_units_apart_from_energy(tmp_path):
    tick_days(SENSOR, tmp_path / "s", 2)
    tick_days(BASE, tmp_path / "e", 2)
    raw = (tmp_path / "s" / "outbox" / "sens-1_2025-06-01.json").read_bytes()
    day = dayfile_reader.parse(raw)
    energy = dayfile_reader.parse(
        (tmp_path / "e" / "outbox" / "sens-1_2025-06-01.json").read_bytes())
    # The energy channels, readings and registers are those of the same meter without sensors.
    assert day.channels == energy.channels
    assert day.values == energy.values and day.closing == energy.closing
    assert list(day.measurements) == ["temperature", "humidity", "onboard"]
    temp, hum, onboard = (day.measurements[n] for n in ("temperature", "humidity", "onboard"))
    assert (temp["unit"], hum["unit"], onboard["unit"]) == ("°C", "%RH", "°C")
    assert (temp["decimals"], hum["decimals"], onboard["decimals"]) == (0, 0, 1)
    assert None not in temp["values"] and len(temp["values"]) == 288
    # An indoor DHT11 in a NZ June: whole degrees around a damped 20 C, humidity in range.
    assert min(temp["values"]) >= 5 and max(temp["values"]) <= 30
    assert len(set(temp["values"])) > 1, "the temperature follows the weather, not a constant"
    assert all(20 <= v <= 90 for v in hum["values"])
    assert all(100 <= v <= 350 for v in onboard["values"])
    doc = json.loads(raw)
    assert set(doc["snapshots"]) == {"Total", "Main", "Sub1"}
    text = raw.decode("ascii")  # the unit is escaped: the file is plain ASCII
    assert '"unit": "\\u00b0C", "sensor": "dht11", "decimals": 0' in text
    first = next(iter(doc["measurements"]["onboard"]["values"]))
    assert f'"{first}": {onboard["values"][0] // 10}.{onboard["values"][0] % 10}' in text


def test_energy_meter_day_file_has_no_measurements(tmp_path):
    tick_days(BASE, tmp_path, 1)
    text = (tmp_path / "outbox" / "sens-1_2025-06-01.json").read_text()
    assert "measurements" not in text
    assert not list((tmp_path / "data").glob("*.sensors"))


def test_backfill_writes_the_same_bytes_as_the_ticks(tmp_path):
    tick_days(SENSOR, tmp_path / "tick", 2)
    first = civil.parse_day("2025-06-01")
    operations.backfill(from_dict(SENSOR), tmp_path / "bulk", first, first + 1,
                        DAY_START + 3 * 1440)
    for name in ("sens-1_2025-06-01.json", "sens-1_2025-06-02.json"):
        assert ((tmp_path / "tick" / "outbox" / name).read_bytes()
                == (tmp_path / "bulk" / "outbox" / name).read_bytes())


@pytest.mark.parametrize("sensors,field", [
    ({"dht11": {"pin": 40}}, "sensors.dht11.pin"),
    ({"dht22": {}}, "sensors.dht22"),
    ({"dht11": {"placement": "attic"}}, "sensors.dht11.placement"),
    ({"onboard": False}, "sensors"),
])
def test_bad_sensors_config_names_the_field(sensors, field):
    with pytest.raises(ConfigError) as info:
        from_dict({**BASE, "sensors": sensors})
    assert info.value.field == field


def test_bad_sensors_config_exits_2_from_the_cli(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, "channels": {"temperature": 1.0},
                                "sensors": {"dht11": {}}}))
    proc = subprocess.run([sys.executable, "-m", "meter", "tick", "--config", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "sensors" in proc.stderr and "already an energy channel" in proc.stderr
    assert "Traceback" not in proc.stderr


def _sensor_day(tmp_path) -> dict:
    tick_days(SENSOR, tmp_path, 1)
    return json.loads((tmp_path / "outbox" / "sens-1_2025-06-01.json").read_text())


FIRST = "2025-06-01T00:05:00+12:00"


@pytest.mark.parametrize("spoil,field,why", [
    (lambda d: d["measurements"]["temperature"]["values"].__setitem__(FIRST, 5000),
     f"measurements.temperature.values.{FIRST}", "maximum"),
    (lambda d: d["measurements"]["humidity"].__setitem__("unit", "kWh"),
     "measurements.humidity.unit", "not one of"),
    (lambda d: d["measurements"]["onboard"]["values"].__setitem__(FIRST, 21),
     f"measurements.onboard.values.{FIRST}", "exactly 1 decimals"),
    (lambda d: d["measurements"].__setitem__("Total", d["measurements"]["onboard"]),
     "measurements.Total", "also an energy channel"),
    (lambda d: d["measurements"]["temperature"]["values"].__setitem__(
        "2025-06-02T00:05:00+12:00", 21),
     "measurements.temperature.values.2025-06-02T00:05:00+12:00", "not the end of an interval"),
])
def test_reader_refuses_bad_measurements_naming_the_field(tmp_path, spoil, field, why):
    doc = _sensor_day(tmp_path)
    dayfile_reader.parse(json.dumps(doc))  # as written: fine
    spoil(doc)
    with pytest.raises(dayfile_reader.DayFileError) as info:
        dayfile_reader.parse(json.dumps(doc))
    assert info.value.field == field and why in info.value.reason


def test_fixed_decimals_are_exact():
    from core.dayfile_writer import fixed

    assert [fixed(v, d) for v, d in [(17, 0), (-3, 0), (214, 1), (-5, 1), (0, 1), (7, 2)]] == \
        ["17", "-3", "21.4", "-0.5", "0.0", "0.07"]
