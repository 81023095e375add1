"""The NEM12 export, read back with nemreader (an independent NEM12 reader): every market day
and channel totals what the meters sent, to the Wh, with true quality flags, on 24-hour
market days whatever the meters' zones and clock changes."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from nemreader import NEMFile

from tempest import create_app
from tempest.cli import main as tempest_cli
from tempest.exports import identity
from tempest.exports.market import ExportError
from tests.sinks.sinkhelpers import AUCKLAND, BERLIN, SYDNEY, Store, day_files, meter_raw

MARKET = timedelta(hours=10)  # NEM time, +10:00 all year
FIRST, LAST = "2024-10-05", "2024-10-28"
METERS = [
    # Clocks go forward on 2024-10-06; rooftop PV (Export, suffix B1); faults.
    (meter_raw("syd-1", "Australia/Sydney", SYDNEY, pv={"kwp": 5},
               faults={"missing_intervals": 0.03, "estimated": 0.03}), "2024-10-04",
     "2024-10-08"),
    # 15-minute intervals. Its own config names an NMI and suffixes: the meter's word, which
    # Tempest does not take; its NMI and one suffix come from Tempest's settings.
    (meter_raw("akl-1", "Pacific/Auckland", AUCKLAND, interval_min=15, nmi="SPOOF00001",
               channels=[{"name": "Total", "nem12_suffix": "B1"},
                         {"name": "Kitchen", "role": "sub", "share": 0.3, "nem12_suffix": "E5"},
                         {"name": "Rest", "role": "sub", "share": 0.7}]),
     "2024-10-05", "2024-10-07"),
    # 10-minute intervals (summed to NEM12's 30), clocks go back on 2024-10-27 (25 hours),
    # whole missing blocks; its NMI and one suffix come from Tempest's settings.
    (meter_raw("ber-1", "Europe/Berlin", BERLIN, interval_min=10,
               channels={"Total": 1.0, "Main": 0.7, "Sub1": 0.3},
               faults={"missing_intervals": 0.05, "missing_run_max": 6, "estimated": 0.03}),
     "2024-10-25", "2024-10-29"),
]
SUFFIXES = {"syd-1": {"Total": "E1", "Export": "B1"},
            "akl-1": {"Total": "E1", "Kitchen": "E2", "Rest": "E7"},
            "ber-1": {"Total": "E1", "Main": "E2", "Sub1": "E9"}}
NMIS = {"syd-1": "syd-1", "akl-1": "NCDE001111", "ber-1": "BERLIN0001"}
TOML = ('[NEM12_METERS.ber-1]\nnmi = "BERLIN0001"\nsuffixes = { Sub1 = "E9" }\n'
        '[NEM12_METERS.akl-1]\nnmi = "NCDE001111"\nsuffixes = { Rest = "E7" }\n')
IDENTITIES = {"ber-1": {"nmi": "BERLIN0001", "suffixes": {"Sub1": "E9"}},
              "akl-1": {"nmi": "NCDE001111", "suffixes": {"Rest": "E7"}}}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The meters' day files, stored by Tempest's ingest, and a NEM12 export of them."""
    tmp = tmp_path_factory.mktemp("nem12")
    files = {}
    for raw, first, last in METERS:
        files.update(day_files(raw, first, last))
    store = Store(tmp / "data")
    assert set(store.ingest(files)) == {"stored"}
    (tmp / "data" / "tempest.toml").write_text(TOML)
    out = tmp / "out.nem12.csv"
    result = CliRunner().invoke(tempest_cli, ["export", "nem12", "--data-dir",
                                              str(tmp / "data"), "--from", FIRST, "--to", LAST,
                                              "-o", str(out)])
    assert result.exit_code == 0, result.output
    store.close()
    return files, out, tmp / "data"


def nem_interval(interval: int) -> int:
    return {1: 5, 10: 30}.get(interval, interval)


def expected(files: dict[str, str]) -> dict:
    """From the day files alone (Python's ISO 8601 parser does the time arithmetic): per
    (serial, channel, market date), Wh and quality per NEM12 slot."""
    slots: dict = defaultdict(lambda: {"wh": defaultdict(int), "read": defaultdict(int),
                                       "est": defaultdict(int)})
    meta = {}
    for text in files.values():
        doc = json.loads(text)
        length = nem_interval(doc["interval"])
        meta[doc["serial"]] = (length, length // doc["interval"], list(doc["channels"]))
        quality = {k: v for ch in doc["quality"].values() for k, v in ch.items()}
        labels = set(quality) | {k for s in doc["datastreams"].values() for k in s}
        for label in labels:
            end = datetime.fromisoformat(label)
            market = (end - end.utcoffset()).replace(tzinfo=None) + MARKET
            minutes = market.hour * 60 + market.minute
            midnight = market.replace(hour=0, minute=0)
            slot_end = math.ceil(minutes / length) * length if minutes else 1440
            if minutes == 0:
                midnight -= timedelta(days=1)
            date = midnight.date().isoformat()
            if not FIRST <= date <= LAST:
                continue
            slot = slot_end // length - 1
            q = quality.get(label, "actual")
            for channel in doc["channels"]:
                cell = slots[(doc["serial"], channel, date)]
                if q != "missing":
                    cell["wh"][slot] += round(doc["datastreams"][channel][label] * 1000)
                    cell["read"][slot] += 1
                    cell["est"][slot] += q == "estimated"
    out = {}
    for (serial, channel, date), cell in slots.items():
        length, factor, _ = meta[serial]
        n = 1440 // length
        wh = [cell["wh"].get(i, 0) for i in range(n)]
        quality = []
        for i in range(n):
            read, est = cell["read"].get(i, 0), cell["est"].get(i, 0)
            quality.append("N" if read == 0 else "A" if read == factor and est == 0 else "S17")
        out[(serial, channel, date)] = (wh, quality)
    return out


def read_back(path) -> dict:
    """nemreader's view: (NMI, suffix, date) -> (Wh per slot, quality per slot)."""
    data = NEMFile(str(path), strict=True).nem_data()
    out: dict = defaultdict(lambda: ([], []))
    for nmi, suffixes in data.readings.items():
        for suffix, readings in suffixes.items():
            for r in readings:
                wh, q = out[(nmi, suffix, r.t_start.date().isoformat())]
                wh.append(round(r.read_value * 1000))
                q.append(r.quality_method)
    return dict(out)


def test_every_market_day_and_channel_totals_what_tempest_stores(fleet):
    files, out, _ = fleet
    want = expected(files)
    got = read_back(out)
    mapped = {(NMIS[s], SUFFIXES[s][c], d): v for (s, c, d), v in want.items()}
    assert set(got) == set(mapped)
    for key, (wh, quality) in mapped.items():
        got_wh, got_q = got[key]
        assert len(got_wh) in (288, 96, 48)  # 24-hour market days, DST or not
        assert sum(got_wh) == sum(wh), key  # the day's total, to the Wh
        assert got_wh == wh, key  # and every slot
        assert got_q == quality, key
    qualities = {q for _, qs in got.values() for q in qs}
    assert qualities == {"A", "N", "S17"}  # all three occur in this fleet


def test_records_and_quality_flags(fleet):
    _, out, _ = fleet
    lines = out.read_text().splitlines()
    assert lines[0].startswith("100,NEM12,") and lines[0].endswith(",TEMPEST,MDMS")
    assert lines[-1] == "900"
    headers = [line.split(",") for line in lines if line.startswith("200,")]
    syd = [h for h in headers if h[1] == "syd-1"]
    assert [(h[2], h[3], h[4], h[5], h[6], h[7], h[8]) for h in syd] == [
        ("E1B1", "1", "E1", "N1", "syd-1", "kWh", "5"),
        ("E1B1", "2", "B1", "", "syd-1", "kWh", "5")]
    ber = [h for h in headers if h[1] == "BERLIN0001"]
    assert {h[4] for h in ber} == {"E1", "E2", "E9"} and {h[8] for h in ber} == {"30"}
    for i, line in enumerate(lines):
        fields = line.split(",")
        if fields[0] == "300" and fields[-5] == "V":
            runs = []
            j = i + 1
            while lines[j].startswith("400,"):
                runs.append(lines[j].split(","))
                j += 1
            assert runs and runs[0][1] == "1" and runs[-1][2] == str(len(fields) - 7)
            for r in runs:
                assert r[3] in ("A", "N", "S17")
                assert (r[4], r[5]) == (("0", "estimated by the meter") if r[3] == "S17"
                                        else ("", ""))
        if fields[0] == "300":
            values = fields[2:-5]
            # A missing interval is flagged N with a zero, never a silent zero flagged A.
            assert all(v == "0.000" for v, q in zip(values, slot_flags(lines, i), strict=True)
                       if q == "N")


def slot_flags(lines: list[str], i: int) -> list[str]:
    fields = lines[i].split(",")
    n = len(fields) - 7
    if fields[-5] != "V":
        return [fields[-5]] * n
    flags = [""] * n
    j = i + 1
    while j < len(lines) and lines[j].startswith("400,"):
        _, a, b, q, *_ = lines[j].split(",")
        flags[int(a) - 1:int(b)] = [q] * (int(b) - int(a) + 1)
        j += 1
    return flags


def test_the_api_download_is_the_same_file(fleet):
    _, out, data_dir = fleet
    app = create_app({"DATA_DIR": str(data_dir), "NEM12_METERS": IDENTITIES})
    r = app.test_client().get(f"/api/v1/exports/nem12?from={FIRST}&to={LAST}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.get_data(as_text=True).splitlines()[1:] == out.read_text().splitlines()[1:]
    one = app.test_client().get(f"/api/v1/exports/nem12?from={FIRST}&to={LAST}&serial=akl-1")
    assert {line.split(",")[1] for line in one.get_data(as_text=True).splitlines()
            if line.startswith("200,")} == {"NCDE001111"}
    bad = app.test_client().get("/api/v1/exports/nem12?from=2024-10-05&to=2024-01-01")
    assert bad.status_code == 400 and bad.get_json()["field"] == "to"
    wide = app.test_client().get("/api/v1/exports/nem12?from=2020-01-01&to=2024-01-01")
    assert wide.status_code == 400 and "TEMPEST_EXPORT_MAX_DAYS" in wide.get_json()["reason"]


def test_identity_sources_and_default_suffixes():
    channels = {"Solar": {"role": "generation"}, "Kitchen": {"role": "sub"},
                "Total": {"role": "import"}, "Export": {"role": "export"},
                "Wind": {"role": "independent"}}
    ident = identity.resolve("kili", channels, None)
    assert ident.nmi == "kili"
    assert ident.suffixes == {"Solar": "G1", "Kitchen": "E2", "Total": "E1", "Export": "B1",
                              "Wind": "E3"}
    assert ident.configuration == "G1E2E1B1E3"
    setting = {"nmi": "QQQQ000001", "suffixes": {"Kitchen": "E1"}}
    ident = identity.resolve("kili", channels, setting)
    assert ident.nmi == "QQQQ000001"
    assert (ident.suffixes["Kitchen"], ident.suffixes["Total"]) == ("E1", "E2")
    seed = identity.resolve("mac", {"Total": {}, "Main": {}}, None)
    assert seed.suffixes == {"Total": "E1", "Main": "E2"}
    # Whatever reaches the writer is checked whole, setting or not.
    for bad in ({"nmi": "QQQQ000001\n300"}, {"nmi": "QQQQ00000,"},
                {"suffixes": {"Total": "E1\n"}}):
        with pytest.raises(ExportError):
            identity.resolve("kili", channels, bad)
