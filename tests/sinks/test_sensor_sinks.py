"""A sensor meter's measurements in the InfluxDB sink, against a real VictoriaMetrics: their
own measurement `sensor` with a `unit` tag, never `consumption` (kWh)."""

from __future__ import annotations

import json
from datetime import datetime

from tests.sinks.sinkhelpers import AUCKLAND, day_files, delivering, meter_raw
from tests.sinks.test_influx import influx_store
from tests.support.waiting import wait_for

EVERY = '{__name__=~"consumption_reading|sensor_reading"}'
RAW = meter_raw("akl-sens", "Pacific/Auckland", AUCKLAND,
                sensors={"dht11": {"placement": "outdoor"}, "onboard": True})


def test_measurements_go_to_their_own_series_with_their_unit(tmp_path, sink_servers):
    vm = sink_servers.vm().start()
    s = influx_store(tmp_path, vm)
    files = day_files(RAW, "2024-07-01", "2024-07-01")
    s.ingest(files)
    doc = json.loads(next(iter(files.values())))
    want = {name: {int(datetime.fromisoformat(t).timestamp() * 1000): v
                   for t, v in m["values"].items()}
            for name, m in doc["measurements"].items()}
    energy = sum(len(stream) for stream in doc["datastreams"].values())
    with delivering(s):
        wait_for(lambda: len(s.delivered("influxdb")) == 1, 30, what="delivered")
    wait_for(lambda: sum(len(x["values"]) for x in vm.export(EVERY))
             >= energy + sum(map(len, want.values())), 20, what="in VM")
    series = {(x["metric"]["__name__"], x["metric"]["datastream"]): x for x in vm.export(EVERY)}
    assert {n for kind, n in series if kind == "consumption_reading"} == {"Total"}
    assert {n for kind, n in series if kind == "sensor_reading"} == set(want)
    units = {n: series[("sensor_reading", n)]["metric"]["unit"] for n in want}
    assert units == {"temperature": "°C", "humidity": "%RH", "onboard": "°C"}
    for name, points in want.items():
        got = series[("sensor_reading", name)]
        assert dict(zip(got["timestamps"], got["values"], strict=True)) == points, name
    # An outdoor DHT11 in a NZ winter: whole degrees that move with the day.
    assert len(set(want["temperature"].values())) > 2
    assert all(float(v).is_integer() for v in want["temperature"].values())
