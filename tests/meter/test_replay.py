"""Replay of a real home (docs/replay.md): a meter plays back a household's interval CSV.

The reference for every energy is the CSV's own text, summed here in Decimal, never the code
under test: each day the meter records must hold exactly the source day's Wh, at any interval,
on 23-, 24- and 25-hour days, in the per-tick engine and the vectorised one alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from core import civil, tz
from loadmodel import replay, replay_csv
from loadmodel.engine import MeterModel
from meter.config import ConfigError, from_dict, read
from meter.vector.engine import VectorMeter
from tests.support import REPO

EXAMPLE = REPO / "examples" / "replay" / "home-mercury.csv"
NZ = "Pacific/Auckland"
# The example's days: a plain 24-hour day, the 25-hour end of NZ daylight time (its 02:00 and
# 02:30 rows appear twice) and the 23-hour start (no 02:00-02:59).
PLAIN, LONG, SHORT = "2022-04-02", "2022-04-03", "2022-09-25"


def mercury_day_wh(path: Path) -> dict[str, int]:
    """Each DATE's Wh, straight from the file's text."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for line in path.read_text().splitlines()[1:]:
        f = line.split(",")
        out[f[1]] += Decimal(f[4])
    return {d: int(v * 1000) for d, v in out.items()}


def mercury_rows_wh(path: Path, day: str) -> list[int]:
    return [int(Decimal(line.split(",")[4]) * 1000) for line in path.read_text().splitlines()[1:]
            if line.split(",")[1] == day]


def replay_config(tmp_path: Path, interval: int, csv: Path = EXAMPLE, fmt: str = "mercury",
                  **fields) -> dict:
    raw = {"serial": "home-1", "timezone": NZ, "interval_min": interval,
           "commissioned": "2022-03-27", "replay": {"file": str(csv), "format": fmt},
           "channels": {"Total": 1.0, "Kitchen": 0.3, "Rest": 0.7}, **fields}
    (tmp_path / "config.json").write_text(json.dumps(raw))
    return raw


def day_values(raw: dict, day: str) -> tuple[list[list[int]], list[list[int]]]:
    """(per-tick engine, vectorised engine): each interval's channel Wh of `day`."""
    cfg = from_dict(raw)
    d = civil.parse_day(day)
    mm = MeterModel(cfg.model)
    _, count = mm.day_grid(d)
    tick = [mm.true_interval(d, i) for i in range(count)]
    vec = VectorMeter(cfg.model).run(d, d).true.tolist()
    return tick, vec


@pytest.mark.parametrize("interval", [5, 15, 30, 60])
@pytest.mark.parametrize("day, hours", [(PLAIN, 24), (LONG, 25), (SHORT, 23)])
def test_resampling_conserves_each_days_energy(tmp_path, interval, day, hours):
    raw = replay_config(tmp_path, interval)
    tick, vec = day_values(raw, day)
    assert tick == vec  # the two engines agree interval by interval
    assert len(tick) == hours * 60 // interval
    assert sum(v[0] for v in tick) == mercury_day_wh(EXAMPLE)[day]
    # The sub-circuits share the replayed total exactly in every interval.
    assert all(v[1] + v[2] == v[0] for v in tick)
    rows = mercury_rows_wh(EXAMPLE, day)
    assert len(rows) == hours * 2
    if interval == 30:
        assert [v[0] for v in tick] == rows  # the file's own half hours, in order
    elif interval == 60:
        assert [v[0] for v in tick] == [rows[i] + rows[i + 1] for i in range(0, len(rows), 2)]
    else:
        # Each half hour of the file is split into whole Wh that add up to it.
        per = 30 // interval
        assert [sum(v[0] for v in tick[i: i + per]) for i in range(0, len(tick), per)] == rows


def plain_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("timestamp,kWh\n" + "".join(f"{t},{v}\n" for t, v in rows))
    return path


def hours_of(day: str, hours: int, first_offset: str, later_offset: str | None = None,
             change_at: int = 99) -> list[str]:
    """Hourly ISO times of a day; `change_at` hour and after get `later_offset`."""
    out = []
    for h in range(hours):
        local = h if h < change_at else h - 1  # the repeated hour
        off = first_offset if h < change_at else later_offset
        out.append(f"{day}T{local:02d}:00{off or ''}")
    return out


def test_plain_csv_repeated_hour_in_order_or_by_offset(tmp_path):
    """2022-04-03 in NZ: 03:00 NZDT becomes 02:00 NZST, so 02:00 local happens twice. Without
    an offset the first row is the earlier hour; with offsets the rows may come in any order."""
    values = [f"0.{100 + h * 7:04d}" for h in range(25)]  # 0.0100, 0.0107, ... kWh
    times = [f"2022-04-03T{(h if h < 3 else h - 1):02d}:00" for h in range(25)]
    in_order = plain_csv(tmp_path / "a.csv", list(zip(times, values, strict=True)))
    offs = ["+13:00" if h < 3 else "+12:00" for h in range(25)]
    shuffled = [(t + o, v) for t, o, v in zip(times, offs, values, strict=True)]
    shuffled[2], shuffled[3] = shuffled[3], shuffled[2]  # the two 02:00 rows swapped
    by_offset = plain_csv(tmp_path / "b.csv", shuffled)
    zone = tz.Zone(NZ, from_dict({"serial": "x", "timezone": NZ}).model["tz_rules"])
    day = civil.parse_day("2022-04-03")
    a = replay_csv.parse(in_order.open(), "plain", zone).day(day)
    b = replay_csv.parse(by_offset.open(), "plain", zone).day(day)
    assert a == b
    n, whs = a
    assert n == 60 and len(whs) == 25
    # Sub-Wh values: each interval is rounded with the remainder carried, so the day holds the
    # rounded total (25 values of 10.0 .. 26.8 Wh: 460.0 Wh) and no interval drifts by more
    # than 1 Wh from its exact value.
    exact = [Decimal(v) * 1000 for v in values]
    assert sum(whs) == round(sum(exact)) == 460
    assert all(abs(w - e) < 1 for w, e in zip(whs, exact, strict=True))
    assert whs[2] == 11 and whs[3] == 12  # 10.14 and 10.21 Wh at 02:00 NZDT and 02:00 NZST


def test_looping_across_years_keeps_the_days_energy(tmp_path):
    """A day the file lacks plays the same month and day of the nearest year the file has,
    stretched or squeezed onto the meter's day: NZ daylight time ended on 2023-04-02, so that
    25-hour day plays 2022-04-02 (24 h) and the 24-hour 2023-04-03 plays 2022's 25-hour day."""
    raw = replay_config(tmp_path, 5)
    source = mercury_day_wh(EXAMPLE)
    for day, played in [("2023-04-02", "2022-04-02"), ("2023-04-03", "2022-04-03"),
                        ("2021-09-25", "2022-09-25"), ("2031-03-30", "2022-03-30")]:
        tick, vec = day_values(raw, day)
        assert tick == vec
        assert sum(v[0] for v in tick) == source[played], day
    # A meter running on: every day of a year gets a whole day of the file.
    cfg = from_dict(raw)
    run = VectorMeter(cfg.model).run(civil.parse_day("2024-01-01"), civil.parse_day("2024-12-31"))
    totals = run.day_totals()[:, 0].tolist()
    assert len(totals) == 366 and set(totals) <= set(source.values())


def test_which_source_day_a_meter_day_plays():
    d = civil.parse_day
    leap_file = [(d("2020-02-01"), d("2020-03-31")), (d("2022-01-01"), d("2022-12-31"))]
    assert replay.source_day(leap_file, d("2022-05-05")) == d("2022-05-05")
    assert replay.source_day(leap_file, d("2030-05-05")) == d("2022-05-05")
    assert replay.source_day(leap_file, d("2019-02-10")) == d("2020-02-10")  # nearest year
    assert replay.source_day(leap_file, d("2021-02-10")) == d("2020-02-10")  # a tie: earlier
    assert replay.source_day(leap_file, d("2028-02-29")) == d("2020-02-29")
    no_leap = [(d("2022-01-01"), d("2022-12-31"))]
    assert replay.source_day(no_leap, d("2028-02-29")) == d("2022-02-28")
    weeks = [(d("2022-03-27"), d("2022-04-09"))]
    assert replay.source_day(weeks, d("2022-06-01")) == d("2022-04-09")  # nearest in the year
    assert replay.source_day(weeks, d("2023-01-02")) == d("2022-03-27")


def bad_mercury(tmp_path: Path, line_no: int, new_line: str) -> Path:
    lines = EXAMPLE.read_text().splitlines(keepends=True)
    lines[line_no - 1] = new_line
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("line_no, text, wanted", [
    (5, "Electricity usage,2022-03-27,02:00,02:29,1.x5,kWh,$0.32,\n",
     "line 5, column 5 (USAGE): not a number: '1.x5'"),
    (5, "Electricity usage,2022-03-27,02:00,02:29,-1.5,kWh,$0.32,\n",
     "line 5, column 5 (USAGE): energy cannot be negative"),
    (5, "Electricity usage,2022-27-03,02:00,02:29,1.5,kWh,$0.32,\n",
     "line 5, column 2 (DATE): not a date"),
    (5, "Electricity usage,2022-03-27,2:0,02:29,1.5,kWh,$0.32,\n",
     "line 5, column 3 (START TIME): not a time of day"),
    (5, "Electricity usage,2022-03-27,02:00,02:29,1.5,MJ,$0.32,\n",
     "line 5, column 6 (UNITS): unit 'MJ'"),
    (5, "Electricity usage,2022-03-27\n", "line 5, column 3 (START TIME): 2 fields, the header has 8"),
    (1, "DATE,USAGE\n", "line 1: not a Mercury export header (no START TIME column"),
    (6, "Electricity usage,2022-03-27,01:30,01:59,1.5,kWh,$0.32,\n",
     "line 6, column 3 (START TIME): local time 2022-03-27 01:30 appears more often than "
     "Pacific/Auckland has it"),
    (1015, "Electricity usage,2022-09-25,02:30,02:59,1.76,kWh,$0.53,\n",
     "line 1015, column 3 (START TIME): local time 2022-09-25 02:30 does not exist"),
])
def test_a_bad_csv_is_refused_naming_line_and_column(tmp_path, line_no, text, wanted):
    raw = replay_config(tmp_path, 5, csv=bad_mercury(tmp_path, line_no, text))
    with pytest.raises(ConfigError) as err:
        from_dict(raw)
    assert err.value.field == "replay.file"
    assert wanted in err.value.reason, err.value.reason


def test_a_day_with_a_hole_is_refused(tmp_path):
    path = tmp_path / "hole.csv"
    path.write_text("".join(line for line in EXAMPLE.open() if ",2022-04-05,13:30," not in line))
    with pytest.raises(ConfigError) as err:
        from_dict(replay_config(tmp_path, 5, csv=path))
    assert ("day 2022-04-05: 47 of its 48 intervals of 30 minutes in Pacific/Auckland; the one "
            "at 2022-04-05 13:30+12:00 is missing") in err.value.reason


@pytest.mark.parametrize("change, field", [
    ({"replay": {"file": "home.csv", "format": "excel"}}, "replay.format"),
    ({"replay": {"format": "mercury"}}, "replay"),
    ({"replay": {"file": "home.csv", "sheet": 1}}, "replay.sheet"),
    ({"replay": {"file": "no-such.csv"}}, "replay.file"),
    ({"archetype": "family"}, "archetype"),
    ({"pv": {"kwp": 3}}, "pv"),
])
def test_a_bad_replay_config_names_the_field(tmp_path, change, field):
    raw = {**replay_config(tmp_path, 5), **change}
    with pytest.raises(ConfigError) as err:
        from_dict(raw)
    assert err.value.field == field, str(err.value)


def meter(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "meter", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_cli_bad_csv_exits_2_without_a_traceback(tmp_path):
    bad = bad_mercury(tmp_path, 7, "Electricity usage,2022-03-27,03:00,03:29,abc,kWh,$0.32,\n")
    raw = replay_config(tmp_path, 5, csv=Path(bad.name))  # relative to the config
    res = meter("check-config", "--config", str(tmp_path / "config.json"))
    assert res.returncode == 2
    assert "replay.file" in res.stderr and "line 7, column 5 (USAGE): not a number" in \
        res.stderr and "Traceback" not in res.stderr
    (tmp_path / "bad.csv").write_text(EXAMPLE.read_text())
    res = meter("check-config", "--config", str(tmp_path / "config.json"))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["model"] == "replay"
    assert raw["replay"]["file"] == "bad.csv"


def test_replay_slice_writes_small_slices_that_read_back_the_same_days(tmp_path):
    res = meter("replay-slice", str(EXAMPLE), "--timezone", NZ, "-o", str(tmp_path / "s"))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["days"] == 28 and out["files"] == 5  # days.txt, 2022-03, -04, -09, -10
    assert out["largest_bytes"] < 16 * 1024
    cfg = read(Path(replay_config(tmp_path, 5) and tmp_path / "config.json"))
    zone = tz.Zone(NZ, cfg.model["tz_rules"])
    memory = replay_csv.load(str(EXAMPLE), "mercury", zone)
    slices = replay.SliceSource(str(tmp_path / "s"))
    assert slices.ranges == memory.ranges
    for day in memory.days:
        assert slices.day(day) == memory.day(day)
    res = meter("replay-slice", str(EXAMPLE), "--timezone", NZ, "--per", "day", "-o",
                str(tmp_path / "d"))
    assert res.returncode == 0 and json.loads(res.stdout)["files"] == 29
    assert replay.SliceSource(str(tmp_path / "d")).day(civil.parse_day(LONG)) == \
        memory.day(civil.parse_day(LONG))
    res = meter("replay-slice", str(EXAMPLE), "--timezone", "Mars/Olympus", "-o",
                str(tmp_path / "x"))
    assert res.returncode == 2 and "--timezone" in res.stderr
    bad = bad_mercury(tmp_path, 3, "Electricity usage,2022-03-27,00:30,00:59,,kWh,$0.32,\n")
    res = meter("replay-slice", str(bad), "--timezone", NZ, "-o", str(tmp_path / "x"))
    assert res.returncode == 2 and "line 3, column 5 (USAGE)" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_relative_replay_file_is_the_configs_from_any_folder(tmp_path):
    """Resolved against the config's folder, not the current one: also for the meters that
    bulk mode derives from the config."""
    (tmp_path / "home.csv").write_text(EXAMPLE.read_text())
    replay_config(tmp_path, 30, csv=Path("home.csv"))
    res = meter("check-config", "--config", str(tmp_path / "config.json"), "--count", "2",
                cwd="/")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [x["serial"] for x in lines] == ["home-1-0001", "home-1-0002"]
    assert all(x["model"] == "replay" for x in lines)
