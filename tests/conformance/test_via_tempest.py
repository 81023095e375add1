"""A scenario delivered through a real Tempest and its MDMS push to the reference receiver,
graded from what the receiver got (docs/conformance.md#through-tempest)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from meter.cli import main as meter_cli
from meter.conformance import grader
from meter.conformance.delivery import serial_specs
from meter.conformance.scenarios import SCENARIOS
from tempest.cli import main as tempest_cli
from tests.support.waiting import wait_for

MDMS_KEY = "mdms-test-key"


def _tempest_with_push(make_tempest, mdms):
    return make_tempest(TEMPEST_SINK_MDMS_URL=mdms.url, TEMPEST_SINK_MDMS_API_KEY=MDMS_KEY,
                        TEMPEST_SINK_MDMS_FORMAT="tempest", TEMPEST_SINK_POLL_SECONDS="0.05")


def _concentrator(tempest, scenario: str) -> str:
    """A concentrator with the scenario's serials behind it: the kit sends as one."""
    runner = CliRunner()
    data = ["--data-dir", str(tempest.data_dir)]
    res = runner.invoke(tempest_cli, ["concentrators", "add", "conformance", *data])
    assert res.exit_code == 0, res.output
    key = res.stdout.strip().splitlines()[-1]
    serials = sorted(serial_specs(SCENARIOS[scenario]))
    res = runner.invoke(tempest_cli, ["concentrators", "assign", "conformance", *serials, *data])
    assert res.exit_code == 0, res.output
    return key


def _send(tmp_path, tempest, key, scenario: str):
    out = tmp_path / scenario
    res = CliRunner().invoke(meter_cli, ["scenario", "write", scenario, str(out), "--via",
                                         "tempest", "--tempest-url", tempest.url],
                             env={"METER_CONCENTRATOR_KEY": key})
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def _pushed_days(mdms) -> set:
    return {tuple(r["idempotency_key"].split(":")[:2]) for r in mdms.accepted()}


def _received(mdms, scenario_out, days: int) -> dict:
    wait_for(lambda: len(_pushed_days(mdms)) >= days, 60, what="every day pushed")
    return grader.grade(scenario_out, mdms.folder / "requests.jsonl")


def test_late_and_revised_through_tempest_scores_full_marks(tmp_path, make_tempest,
                                                            sink_servers):
    """Tempest keeps the later delivery of a day and pushes each new version: an MDMS that
    keeps the last version it is pushed gets the revised days, the second copies and the late
    days right."""
    mdms = sink_servers.mdms().start()
    tempest = _tempest_with_push(make_tempest, mdms).start()
    key = _concentrator(tempest, "late-and-revised")
    out, result = _send(tmp_path, tempest, key, "late-and-revised")
    # 2 meters x 28 days, and a second file for each of the 2 revised and 2 doubled days.
    assert result["files"] == 60
    assert result["tempest"] == {"stored": 56, "replaced": 4}
    card = _received(mdms, out, 56)
    assert card["deductions"] == []
    assert card["passed"] == card["points"] == 226
    # The MDMS holds the revised day's second, actual version (the estimated first reaches
    # it too, unless Tempest stored the second before its push got to the first).
    revised = [json.loads(r["body"]) for r in mdms.accepted()
               if r["idempotency_key"].startswith("syd-late-1:2024-10-08:")]
    assert revised[-1]["revision"] == 2
    assert all(x["quality"] == "actual" for x in revised[-1]["readings"])
    assert all(any(x["quality"] == "estimated" for x in d["readings"]) for d in revised[:-1])


def test_meter_exchange_through_tempest_loses_what_a_head_end_cannot_know(
        tmp_path, make_tempest, sink_servers):
    """Tempest applies no site multiplier and stores each serial's day as it came: the CT-ratio
    meter's energy is wrong every day, and on the exchange day each serial's missing half
    lands on the other's readings. The rollover, shown between days, costs nothing."""
    mdms = sink_servers.mdms().start()
    tempest = _tempest_with_push(make_tempest, mdms).start()
    key = _concentrator(tempest, "meter-exchange")
    out, result = _send(tmp_path, tempest, key, "meter-exchange")
    assert result["tempest"] == {"stored": result["files"]}
    card = _received(mdms, out, result["files"])
    lost = sorted((d["check"], d["site"], d["day"]) for d in card["deductions"])
    ct_days = [f"2024-10-{d:02d}" for d in range(1, 29)]
    assert lost == sorted([("day_energy", "CONF000402", d) for d in ct_days]
                          + [("interval_energy", "CONF000402", d) for d in ct_days]
                          + [("duplicates", "CONF000401", "2024-10-16"),
                             ("interval_energy", "CONF000401", "2024-10-16")])
    assert (card["passed"], card["points"]) == (278, 336)


def test_via_tempest_needs_its_url_and_key_and_stops_on_a_refusal(tmp_path, make_tempest):
    res = CliRunner().invoke(meter_cli, ["scenario", "write", "late-and-revised",
                                         str(tmp_path / "a"), "--via", "tempest"])
    assert res.exit_code == 2 and "--tempest-url" in res.output
    res = CliRunner().invoke(meter_cli, ["scenario", "write", "late-and-revised",
                                         str(tmp_path / "b"), "--via", "tempest",
                                         "--tempest-url", "http://127.0.0.1:9/"], env={
                                             "METER_CONCENTRATOR_KEY": ""})
    assert res.exit_code == 2 and "--concentrator-key" in res.output
    # A concentrator the scenario's serials are not assigned to: Tempest refuses the first
    # file, and the command says so and stops.
    tempest = make_tempest().start()
    runner = CliRunner()
    res = runner.invoke(tempest_cli, ["concentrators", "add", "empty", "--data-dir",
                                      str(tempest.data_dir)])
    key = res.stdout.strip().splitlines()[-1]
    res = CliRunner().invoke(meter_cli, ["scenario", "write", "late-and-revised",
                                         str(tmp_path / "c"), "--via", "tempest",
                                         "--tempest-url", tempest.url],
                             env={"METER_CONCENTRATOR_KEY": key})
    assert res.exit_code == 1
    assert "0001_syd-late-1_2024-10-01.json: refused (403)" in res.output
    assert (tmp_path / "c" / "truth" / "labels.json").exists()  # the folder is written first
