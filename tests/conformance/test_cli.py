"""`meter scenario` and `meter grade`: the scorecard three ways, and bad input named, exit 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from meter.cli import main
from tests.conformance import reference_mdms


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_list_and_write(written, tmp_path):
    listed = run("scenario", "list")
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.output.splitlines()] == [
        "dst-and-clocks", "gaps-and-estimates", "late-and-revised", "meter-exchange"]
    out = run("scenario", "write", "meter-exchange", tmp_path / "s")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["files"] == len(list((tmp_path / "s" / "delivery").glob("*.json")))
    # The command writes what the kit writes (the fixture), byte for byte.
    assert (tmp_path / "s" / "truth" / "intervals.csv").read_bytes() == (
        written("meter-exchange") / "truth" / "intervals.csv").read_bytes()
    again = run("scenario", "write", "meter-exchange", tmp_path / "s")
    assert again.exit_code == 2 and "OUT: " in again.output and "not empty" in again.output
    unknown = run("scenario", "write", "no-such", tmp_path / "t")
    assert unknown.exit_code == 2 and "no scenario 'no-such'" in unknown.output


def test_grade_prints_a_table_and_writes_json_and_html(written, tmp_path):
    folder = written("late-and-revised")
    mdms = reference_mdms.naive(folder, tmp_path / "n.csv")
    result = run("grade", folder, mdms, "--json", tmp_path / "c.json", "--html", tmp_path / "c.html",
                 "--min-score", "0.99")
    assert result.exit_code == 1, result.output  # below --min-score
    assert "212/226 points" in result.output and "revised" in result.output
    card = json.loads((tmp_path / "c.json").read_text())
    assert card["passed"] == 212 and len(card["deductions"]) == 14
    page = (tmp_path / "c.html").read_text()
    assert page.count("<svg") == 4 and "CONF000301 2024-10-08" in page
    ok = run("grade", folder, reference_mdms.perfect(folder, tmp_path / "p.csv"), "--min-score", 1)
    assert ok.exit_code == 0 and "226/226 points" in ok.output


HEADER = "site,interval_end,kwh,quality\n"


@pytest.mark.parametrize(("text", "where"), [
    ("site,when,kwh,quality\n", "out.csv:1: (header): no column interval_end or timestamp"),
    (HEADER + "CONF000301,2024-10-01T00:30:00,0.1,actual\n",
     "out.csv:2: interval_end: '2024-10-01T00:30:00' has no UTC offset"),
    (HEADER + "CONF000301,2024-10-01T00:30:00Z,0.1,actual\nCONF000301,2024-10-01T01:00:00Z,"
     "1e3,actual\n", "out.csv:3: kwh: not a kWh value: '1e3'"),
    (HEADER + "CONF000301,2024-10-01T00:30:00Z,0.1,good\n", "out.csv:2: quality: unknown quality"),
    (HEADER + "CONF000301,2024-10-01T00:30:00Z,0.1\n", "out.csv:2: (row): 3 fields"),
    ("100,NEM12,202410290000,A,B\n200,CONF000301,E1,1,E1,N1,x,kWh,30,\n300,20241001,0.1,A,,,\n",
     "out.csv:3: 300: 7 fields; 48 intervals need 51+"),
    ("100,NEM12,202410290000,A,B\n200,CONF000301,E1,1,E1,N1,x,kWh,7,\n",
     "out.csv:2: 200.IntervalLength: 7: not 5, 15 or 30"),
    # What Tempest's MDMS push delivered, one body a line (meter/conformance/pushed.py).
    ('{"format": "tempest.day.v1", "serial": "syd-late-1", "day": "2024-10-01", "revision": 1, '
     '"channels": [{"role": "import"}], "readings": []}\n{"format": "picos.v0"}\n',
     "out.csv:2: format: not a tempest.day.v1 body"),
    ('{"format": "tempest.day.v1", "serial": "syd-late-1", "day": "2024-10-01", "revision": 1, '
     '"channels": [{"role": "import"}], "readings": [{"end": "2024-10-01T00:30:00", '
     '"quality": "actual", "values": [0.1]}]}\n',
     "out.csv:1: readings.end: '2024-10-01T00:30:00' has no UTC offset"),
    ('{"format": "tempest.day.v1"\n', "out.csv:1: (line): not JSON"),
])
def test_bad_mdms_output_names_the_file_line_and_field(written, tmp_path, text, where):
    bad = tmp_path / "out.csv"
    bad.write_text(text)
    result = run("grade", written("late-and-revised"), bad)
    assert result.exit_code == 2
    assert where in result.output


def test_a_folder_that_is_not_a_scenario(tmp_path):
    (tmp_path / "out.csv").write_text(HEADER)
    result = run("grade", tmp_path, tmp_path / "out.csv")
    assert result.exit_code == 2 and "not a scenario folder" in result.output
    bad = run("grade", tmp_path, tmp_path / "out.csv", "--nem12-offset", "10")
    assert bad.exit_code == 2 and "--nem12-offset" in bad.output
