"""The InfluxDB sink against a real VictoriaMetrics (it accepts influxdb-client writes on
/api/v2/write and returns them on /api/v1/export): exact values and UTC timestamps from meters
in several zones, replaced days, replays, and an outage.

VictoriaMetrics keeps duplicate samples where InfluxDB overwrites, which makes it a strict
witness: every sample count below is exactly the number of times Tempest sent that version."""

from __future__ import annotations

import json
import time
from datetime import datetime

from tempest.sinks import queue
from tests.sinks.sinkhelpers import AUCKLAND, NEW_YORK, SYDNEY, Store, day_files, delivering, meter_raw
from tests.support.waiting import wait_for
from tests.tempest.tempest_testdata import expected_values, grid, make_day

METERS = [
    # 2024-04-07: clocks go back in Auckland (25 hours).
    (meter_raw("akl-1", "Pacific/Auckland", AUCKLAND), "2024-04-05", "2024-04-08"),
    # 2024-11-03: clocks go back in New York; 15-minute intervals, west of UTC.
    (meter_raw("nyc-1", "America/New_York", NEW_YORK, interval_min=15), "2024-11-01",
     "2024-11-04"),
    # Rooftop PV (an Export channel), missing and estimated intervals.
    (meter_raw("syd-1", "Australia/Sydney", SYDNEY, pv={"kwp": 5},
               faults={"missing_intervals": 0.03, "estimated": 0.03}), "2024-10-05",
     "2024-10-07"),
]


def influx_store(tmp_path, vm, **kw) -> Store:
    return Store(tmp_path / "data", SINK_INFLUX_URL=vm.url, SINK_INFLUX_TOKEN="test-token",
                 SINK_INFLUX_ORG="meters-org", SINK_INFLUX_BUCKET="meters",
                 SINK_INFLUX_BATCH_POINTS=5000, **kw)


def expected_points(files: dict[str, str]) -> dict[tuple[str, str], dict[int, float]]:
    """What the day files say, read independently of Tempest: every reading at its interval
    end as UTC milliseconds (Python's own ISO 8601 parser does the zone arithmetic)."""
    out: dict = {}
    for text in files.values():
        doc = json.loads(text)
        for channel, stream in doc["datastreams"].items():
            series = out.setdefault((doc["serial"], channel), {})
            for label, value in stream.items():
                series[int(datetime.fromisoformat(label).timestamp() * 1000)] = value
    return out


def samples(vm) -> int:
    return sum(len(vs) for series in vm.samples().values() for vs in series.values())


def test_readings_land_with_exact_values_at_their_utc_interval_ends(tmp_path, sink_servers):
    vm = sink_servers.vm().start()
    s = influx_store(tmp_path, vm)
    files = {}
    for raw, first, last in METERS:
        files.update(day_files(raw, first, last))
    s.ingest(files)
    want = expected_points(files)
    total = sum(len(v) for v in want.values())
    with delivering(s):
        wait_for(lambda: len(s.delivered("influxdb")) == len(files), 30, what="delivered")
    wait_for(lambda: samples(vm) >= total, 20, what="in VM")
    got = vm.samples()
    assert set(got) == set(want)
    for key, series in want.items():
        assert {ts: vs for ts, vs in got[key].items()} == {ts: [v] for ts, v in series.items()}, key
    assert max(ts for series in got.values() for ts in series) < time.time() * 1000
    # The fall-back day in Auckland: 300 five-minute readings on the Total channel.
    start = datetime.fromisoformat("2024-04-07T00:00:00+13:00").timestamp() * 1000
    end = datetime.fromisoformat("2024-04-08T00:00:00+12:00").timestamp() * 1000
    akl = [ts for ts in got[("akl-1", "Total")] if start < ts <= end]
    quality = json.loads(files["akl-1_2024-04-07.json"])["quality"].get("Total", {})
    assert len(akl) == 300 - sum(1 for q in quality.values() if q == "missing")
    st = s.conn.execute("SELECT delivered, skipped FROM sinks WHERE name = 'influxdb'").fetchone()
    assert tuple(st) == (len(files), 0)


def test_a_replaced_day_overwrites_and_each_version_is_sent_once(tmp_path, sink_servers):
    vm = sink_servers.vm().start()
    s = influx_store(tmp_path, vm)
    day, zone = "2024-04-07", "Pacific/Auckland"  # 25 hours
    ends = grid(zone, day, 5)
    s.ingest({"kili_2024-04-07.json": make_day("kili", day, status="open", upto=100)})
    with delivering(s):
        wait_for(lambda: len(s.delivered("influxdb")) == 1, 20)
        s.ingest({"kili_2024-04-07.v2.json": make_day("kili", day, bump=1)})
        wait_for(lambda: s.delivered("influxdb")[("kili", day)]["deliveries"] == 2, 20)
    v1 = expected_values("kili", day, upto=100)
    v2 = expected_values("kili", day, bump=1)

    def check(sent_v2: int):
        got = vm.samples()
        for channel in ("Total", "Sub1", "Sub2"):
            series = got[("kili", channel)]
            assert len(series) == len(ends) == 300
            for i, end in enumerate(ends):
                values = sorted(series[end * 60_000])
                want = [v2[channel][i] / 1000] * sent_v2
                if v1[channel][i] is not None:
                    want.append(v1[channel][i] / 1000)
                assert values == sorted(want), (channel, i)

    wait_for(lambda: samples(vm) == 3 * (300 + 100), 20, what="both versions in VM")
    check(1)
    # A restart of the worker sends nothing again: the ledger says the sink has this version.
    with delivering(s):
        time.sleep(0.5)
    assert s.delivered("influxdb")[("kili", day)]["deliveries"] == 2
    check(1)
    # A replay does send it again (that is what a replay is for).
    assert queue.replay(s.conn, "influxdb", day, day, None, time.time()) == 1
    with delivering(s):
        wait_for(lambda: s.delivered("influxdb")[("kili", day)]["deliveries"] == 3, 20)
    wait_for(lambda: samples(vm) == 3 * (2 * 300 + 100), 20, what="the replay in VM")
    check(2)


def test_an_outage_of_victoriametrics_loses_nothing(tmp_path, sink_servers):
    vm = sink_servers.vm().start()
    s = influx_store(tmp_path, vm, SINK_MAX_ATTEMPTS=2)
    raw, first, last = METERS[0]
    files = day_files(raw, first, last)
    names = sorted(files)
    s.ingest({n: files[n] for n in names[:1]})
    with delivering(s):
        wait_for(lambda: len(s.delivered("influxdb")) == 1, 20)
        vm.stop()
        s.ingest({n: files[n] for n in names[1:]})
        time.sleep(2.0)  # several paused attempts, far past MAX_ATTEMPTS
        waiting = s.queue("influxdb")
        assert len(waiting) == len(names) - 1
        assert all(i["state"] == "queued" and i["attempts"] == 0 for i in waiting)
        assert "InfluxDB unreachable" in waiting[0]["last_error"]
        vm.start()  # same address and storage
        wait_for(lambda: len(s.delivered("influxdb")) == len(names), 30, what="delivered")
    want = expected_points(files)
    wait_for(lambda: samples(vm) >= sum(len(v) for v in want.values()), 20)
    assert {k: {ts: vs[0] for ts, vs in v.items()} for k, v in vm.samples().items()} == want
