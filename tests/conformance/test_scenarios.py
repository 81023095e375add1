"""The ready scenarios: reproducible, across both DST changes, their quirks in the files."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter

from meter.conformance import delivery
from meter.conformance.scenarios import LATE_AND_REVISED, SCENARIOS


def digest(folder) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_the_same_scenario_writes_the_same_bytes(written, tmp_path):
    delivery.write(LATE_AND_REVISED, tmp_path / "again")
    assert digest(tmp_path / "again") == digest(written("late-and-revised"))


def test_every_scenario_crosses_both_dst_changes(written):
    for name in SCENARIOS:
        with (written(name) / "truth" / "intervals.csv").open() as f:
            per_day = Counter((r["site"], r["local_day"]) for r in csv.DictReader(f))
        lengths = set(per_day.values())
        assert 46 in lengths or 50 in lengths, name
    with (written("dst-and-clocks") / "truth" / "intervals.csv").open() as f:
        per_day = Counter((r["site"], r["local_day"]) for r in csv.DictReader(f))
    assert per_day[("CONF000101", "2024-10-06")] == 46  # Sydney springs forward
    assert per_day[("CONF000102", "2024-10-27")] == 50  # Berlin falls back


def readings(folder, serial, day):
    [path] = (folder / "delivery").glob(f"*_{serial}_{day}.json")
    return json.loads(path.read_text())["readings"]


def test_the_clock_quirks_are_in_the_files(written):
    folder = written("dst-and-clocks")
    assert readings(folder, "ber-utc", "2024-10-27")[0][0] == "2024-10-26T22:30:00Z"
    assert readings(folder, "syd-std", "2024-10-20")[0][0] == "2024-10-19T23:30:00+10:00"
    stamps = [r[0] for r in readings(folder, "ber-nooffset", "2024-10-27")]
    assert len(stamps) == 50 and stamps.count("2024-10-27T02:30:00") == 2
    assert readings(folder, "ber-dlms", "2024-10-20")[0][0] == "2024-10-20T00:30:00-02:00"
    assert readings(folder, "syd-start", "2024-10-02")[0][0] == "2024-10-02T00:00:00+10:00"
    # 02:00 standard time is 03:00 daylight time: the fourth interval ends there.
    assert [r[0][11:] for r in readings(folder, "syd-dst", "2024-10-06")[2:5]] == [
        "01:30:00+10:00", "03:00:00+11:00", "03:30:00+11:00"]


def test_the_truth_labels_each_quirk_with_its_conclusion(written):
    labels = json.loads((written("meter-exchange") / "truth" / "labels.json").read_text())
    quirks = {(x["serial"], x["quirk"]) for x in labels["labels"]}
    assert ("syd-old", "meter_exchange") in quirks and ("syd-ct", "multiplier") in quirks
    assert all(x["conclusion"] for x in labels["labels"])
    sites = list(csv.DictReader((written("meter-exchange") / "sites.csv").open()))
    assert {s["serial"]: s["site"] for s in sites}["syd-new"] == "CONF000401"
    assert {s["serial"]: s["multiplier"] for s in sites}["syd-ct"] == "0.5"


def test_late_revised_and_duplicate_days_arrive_in_that_order(written):
    folder = written("late-and-revised")
    names = sorted(p.name for p in (folder / "delivery").glob("*.json"))
    order = [n.split("_", 1)[1] for n in names]
    assert order.count("syd-late-1_2024-10-08.json") == 2
    first, again = (i for i, n in enumerate(order) if n == "syd-late-1_2024-10-08.json")
    assert again - first > 4  # three days of other files in between
    assert order.index("syd-late-1_2024-10-10.json") > order.index("syd-late-1_2024-10-11.json")
    assert order.count("syd-late-2_2024-10-12.json") == 2


def test_the_meter_exchange_and_the_rollover(written):
    folder = written("meter-exchange")
    old = json.loads(next((folder / "delivery").glob("*_syd-old_2024-10-16.json")).read_text())
    new = json.loads(next((folder / "delivery").glob("*_syd-new_2024-10-16.json")).read_text())
    assert [r[2] for r in old["readings"][20:]] == ["missing"] * (len(old["readings"]) - 20)
    assert new["snapshots"]["Total"] == 0 and new["readings"][0][1] is None
    rolled = json.loads(next((folder / "delivery").glob("*_syd-roll_2024-10-20.json")).read_text())
    assert rolled["closing_snapshots"]["Total"] < rolled["snapshots"]["Total"] > 99000
