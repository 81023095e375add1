"""A meter's DLMS/COSEM server, read by an independent client (dlms-cosem) over TCP on
loopback, against `meter truth`: `meter dlms-serve` runs as a real process, stopped by PID."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from dlms_cosem.exceptions import DlmsClientException

from core import civil
from meter import config, daybuild
from meter.cli import main as meter_cli
from meter.vector.engine import VectorMeter
from tests.dlms.meters import AT, BERLIN, CONFIG, DAY, PASSWORD, start_server
from tests.dlms.reader import I, session
from tests.support.processes import stop_process


@pytest.fixture(scope="module")
def meter_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dlms")
    proc, host, port = start_server(tmp, CONFIG)
    cfg = config.from_dict(CONFIG)
    yield cfg, host, port, tmp
    stop_process(proc)
    assert proc.returncode is not None


def truth(tmp: Path, day: str) -> dict:
    """`meter truth` of the served meter (its config file, as the server reads it)."""
    got = CliRunner().invoke(meter_cli, ["truth", "--config", str(tmp / "dl-1.json"),
                                         "--day", day])
    assert got.exit_code == 0, got.output
    return json.loads(got.output)


def wh(kwh: str) -> int:
    return int(Decimal(kwh) * 1000)


def test_the_load_profile_of_a_day_by_range_equals_meter_truth(meter_server):
    cfg, host, port, tmp = meter_server
    t = truth(tmp, DAY)
    qualities = {i["quality"] for i in t["intervals"]}
    assert {"missing", "estimated"} <= qualities  # the day exercises both faults
    start = datetime(2024, 6, 15, tzinfo=BERLIN)
    with session(host, port, PASSWORD.encode()) as meter:
        columns = meter.value(I.PROFILE_GENERIC, "1.0.99.1.0.255", 3)
        period = meter.value(I.PROFILE_GENERIC, "1.0.99.1.0.255", 4)
        rows = meter.profile("1.0.99.1.0.255", start, start + timedelta(days=1))
    assert [bytes(c[1]).hex() for c in columns] == [
        "0000010000ff", "0000600a01ff", "0100011d00ff", "0100021d00ff"]
    assert period == 300
    # The range is inclusive: the row at 00:00 is the day before's last interval.
    rows = [r for r in rows if r[0] > start]
    recorded = [i for i in t["intervals"] if i["recorded"] is not None]
    assert len(rows) == len(recorded) == 288 - 9
    names = cfg.channel_names  # ["Total", "Export"]
    for row, interval in zip(rows, recorded, strict=True):
        assert row[0] == datetime.fromisoformat(interval["end"])
        assert row[2:] == [wh(interval["recorded"][n]) for n in names], interval["end"]
        assert bool(row[1] & 0x04) == (interval["quality"] == "estimated")
        assert row[1] & 0x08  # summer time


def test_registers_equal_the_day_files_registers(meter_server):
    cfg, host, port, tmp = meter_server
    with session(host, port, PASSWORD.encode()) as meter:
        clock, _ = meter.clock()
        imp = meter.register("1.0.1.8.0.255")
        exp = meter.register("1.0.2.8.0.255")
    assert imp[1:] == exp[1:] == (0, 30)  # Wh, scaler 10^0
    # The registers at the start of the day are what the day file of the day before closes
    # with (the meter's own folder: what it remembers); since then the meter added the
    # intervals its clock has seen end.
    got = CliRunner().invoke(meter_cli, [
        "backfill", "--config", str(tmp / "dl-1.json"), "--data-dir", str(tmp / "dl-1"),
        "--from", "2024-06-15", "--to", "2024-06-15", "--at", AT.isoformat(), "-q"])
    assert got.exit_code == 0, got.output
    day_file = json.loads((tmp / "dl-1" / "outbox" / "dl-1_2024-06-15.json").read_text())
    closing = {name: wh(str(v)) for name, v in day_file["closing_snapshots"].items()}
    today = truth(tmp, "2024-06-16")
    seen = [i for i in today["intervals"] if i["recorded"] is not None
            and datetime.fromisoformat(i["end"]) <= clock]
    assert imp[0] == closing["Total"] + sum(wh(i["recorded"]["Total"]) for i in seen)
    assert exp[0] == closing["Export"] + sum(wh(i["recorded"]["Export"]) for i in seen)


def test_the_clock_is_the_meters_drifted_clock(meter_server):
    cfg, host, port, tmp = meter_server
    drift = truth(tmp, "2024-06-16")["day_faults"]["clock_drift_minutes"]
    assert drift > 0
    with session(host, port, PASSWORD.encode()) as meter:
        clock, status = meter.clock()
        zone = meter.value(I.CLOCK, "0.0.1.0.0.255", 3)
        shift = meter.value(I.CLOCK, "0.0.1.0.0.255", 7)
        enabled = meter.value(I.CLOCK, "0.0.1.0.0.255", 8)
    ahead = clock - AT
    assert timedelta(minutes=drift) <= ahead < timedelta(minutes=drift, seconds=60)
    assert clock.utcoffset() == timedelta(hours=2)  # deviation -120: summer time in Berlin
    assert status & 0x80  # daylight saving active
    assert (zone, shift, enabled) == (-60, 60, True)


def test_instantaneous_values_follow_the_model_and_the_feeder(meter_server):
    cfg, host, port, _ = meter_server
    with session(host, port, PASSWORD.encode()) as meter:
        volts = meter.register("1.0.32.7.0.255")
        amps = meter.register("1.0.31.7.0.255")
        p_in = meter.register("1.0.1.7.0.255")
        p_out = meter.register("1.0.2.7.0.255")
    assert volts[1:] == (-1, 35) and amps[1:] == (-2, 33) and p_in[1:] == p_out[1:] == (0, 27)
    v, a = volts[0] / 10, amps[0] / 100
    # The household's power in the minute it was read (the server has run a few seconds or
    # minutes since AT): the model's import and export for that minute.
    u = int(AT.timestamp() // 60)
    imp, exp, _ = VectorMeter(cfg.model)._minutes(u, u + 10)
    assert (p_in[0], p_out[0]) in set(zip(imp.tolist(), exp.tolist(), strict=True))
    assert 207 <= v <= 253
    # Midday in June with 4 kWp of PV: export lifts the voltage above its no-load 232 V,
    # import pulls it below.
    assert (v >= 232 if p_out[0] else v <= 232)
    assert abs(v * a - (p_in[0] + p_out[0])) <= v * 0.01 + 1


def test_every_outage_in_the_truth_has_its_power_failure_events(meter_server):
    cfg, host, port, _ = meter_server
    first = datetime(2024, 5, 8)
    days = [(first + timedelta(days=k)).date().isoformat() for k in range(39)]
    # The whole window (39 days) in-process, on one engine: `meter truth` prints this.
    vm = VectorMeter(cfg.model)
    faults = {d: daybuild.truth(cfg, civil.parse_day(d), vm)["day_faults"] for d in days}
    outage_days = {d for d in days if faults[d]["outage"]}
    assert outage_days  # the window has outages to find
    with session(host, port, PASSWORD.encode()) as meter:
        events = meter.profile("0.0.99.98.0.255")
        failures = meter.profile("0.0.99.97.0.255")
    downs = {e[0] for e in events if e[1] == 1}
    ups = {e[0] for e in events if e[1] == 2}
    for d in outage_days:
        midnight = datetime.fromisoformat(d).replace(tzinfo=BERLIN)
        prev = (midnight - timedelta(days=1)).date().isoformat()
        nxt = (midnight + timedelta(days=1)).date().isoformat()
        if prev not in outage_days:  # the failure began at this midnight
            assert midnight in downs, d
            lasts = 1
            while (midnight + timedelta(days=lasts)).date().isoformat() in outage_days:
                lasts += 1
            assert [midnight, lasts * 86400] in [f[:2] for f in failures], d
        if nxt not in outage_days:
            assert midnight + timedelta(days=1) in ups, d
    # Nothing else: each logged failure is an outage day of the truth.
    for when, _ in failures:
        if datetime(2024, 5, 8, tzinfo=BERLIN) <= when < datetime(2024, 6, 16, tzinfo=BERLIN):
            assert when.date().isoformat() in outage_days
    # Where the drifting clock resyncs (its drift drops), the log has "clock adjusted": the
    # old time (the meter's clock just before, event 4) and the new (event 5).
    resyncs = [(d, faults[p]["clock_drift_minutes"] - faults[d]["clock_drift_minutes"])
               for p, d in zip(days, days[1:], strict=False)
               if faults[d]["clock_drift_minutes"] < faults[p]["clock_drift_minutes"]]
    assert resyncs  # the 30-day resync falls in the window
    for d, back in resyncs:
        midnight = datetime.fromisoformat(d).replace(tzinfo=BERLIN)
        assert [midnight + timedelta(minutes=back), 4] in events
        assert [midnight, 5] in events


def test_a_wrong_password_is_refused_and_the_public_client_sees_only_the_name(meter_server):
    cfg, host, port, _ = meter_server
    with pytest.raises(DlmsClientException, match="REJECTED"), \
            session(host, port, b"wrong-password"):
        pass
    with pytest.raises(DlmsClientException), session(host, port, None, client_address=1):
        pass
    with session(host, port, None, client_address=16) as public:
        assert public.value(I.DATA, "0.0.42.0.0.255") == b"MTRdl-1"
        with pytest.raises(Exception, match="READ_WRITE_DENIED|ACCESS|DENIED"):
            public.register("1.0.1.8.0.255")
    with session(host, port, PASSWORD.encode()) as meter:
        assert meter.value(I.DATA, "0.0.96.1.0.255") == cfg.serial


def test_the_whole_profile_holds_its_depth(tmp_path):
    raw = {**CONFIG, "serial": "dl-2", "interval_min": 60}
    proc, host, port = start_server(tmp_path, raw)
    try:
        with session(host, port, PASSWORD.encode()) as meter:
            rows = meter.profile("1.0.99.1.0.255")
            depth = meter.value(I.PROFILE_GENERIC, "1.0.99.1.0.255", 8)
            in_use = meter.value(I.PROFILE_GENERIC, "1.0.99.1.0.255", 7)
    finally:
        stop_process(proc)
    assert depth == 40 * 24
    assert in_use == len(rows)
    assert 30 * 24 < len(rows) <= 40 * 24  # less the outage days and missing intervals
    assert rows == sorted(rows, key=lambda r: r[0])
    assert rows[-1][0] <= AT + timedelta(minutes=10)


def test_dlms_serve_refuses_a_config_without_dlms(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(CONFIG))
    got = CliRunner().invoke(meter_cli, ["dlms-serve", "--config", str(path)])
    assert got.exit_code == 2
    assert "dlms:" in got.output
