"""`tempest sinks status|replay|retry-dead`, the export commands' argument checks, and the
sink and NEM12 settings Tempest refuses to start with."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tempest import create_app
from tempest.cli import main as tempest_cli
from tempest.settings import SettingsError
from tempest.sinks import queue
from tests.sinks.sinkhelpers import Store
from tests.tempest.tempest_testdata import make_day

OFF = {"SINK_INFLUX_URL": "http://127.0.0.1:9", "SINK_MDMS_URL": "http://127.0.0.1:9"}


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(tempest_cli, list(args))
    return result.exit_code, result.output


def test_status_replay_and_retry_dead_commands(tmp_path):
    data = str(tmp_path / "data")
    code, out = run("sinks", "status", "--data-dir", data)
    assert code == 0 and "no sinks registered" in out
    s = Store(tmp_path / "data", **OFF)
    s.ingest({f"kili_2024-04-0{d}.json": make_day("kili", f"2024-04-0{d}") for d in (1, 2)})
    head = queue.head(s.conn, "mdms", 1)[0]
    queue.kill(s.conn, "mdms", head, "MDMS answered 400: unknown meter", 1.0)
    code, out = run("sinks", "status", "--data-dir", data)
    assert code == 0
    assert "mdms      enabled, worker not running: http://127.0.0.1:9 (tempest)" in out
    assert "queued 1 (lag" in out and "dead 1" in out
    assert "dead #" in out and "kili 2024-04-01: rejected: MDMS answered 400: unknown meter" in out
    code, out = run("sinks", "status", "--json", "--data-dir", data)
    info = {x["name"]: x for x in json.loads(out)["sinks"]}
    assert (info["mdms"]["queued"], info["mdms"]["dead"], info["influxdb"]["queued"]) == (1, 1, 2)

    code, out = run("sinks", "replay", "--sink", "influxdb", "--from", "2024-04-02", "--to",
                    "2024-04-30", "--serial", "kili", "--data-dir", data)
    assert code == 0 and json.loads(out) == {"sink": "influxdb", "queued": 1}
    assert [i["cause"] for i in s.queue("influxdb")] == ["stored", "replay"]
    code, out = run("sinks", "replay", "--sink", "nope", "--from", "2024-04-02", "--to",
                    "2024-04-30", "--data-dir", data)
    assert code == 2 and "no sink 'nope' registered (registered: influxdb, mdms)" in out
    code, out = run("sinks", "replay", "--sink", "mdms", "--from", "2024-04-31", "--to",
                    "2024-05-01", "--data-dir", data)
    assert code == 2 and "--from" in out
    code, out = run("sinks", "replay", "--sink", "mdms", "--from", "2024-05-02", "--to",
                    "2024-05-01", "--data-dir", data)
    assert code == 2 and "--from is after --to" in out
    code, out = run("sinks", "retry-dead", "--data-dir", data)
    assert code == 0 and json.loads(out) == {"sink": None, "requeued": 1}
    code, out = run("sinks", "retry-dead", "--sink", "nope", "--data-dir", data)
    assert code == 2


def test_export_commands_check_their_arguments(tmp_path):
    data = str(tmp_path / "data")
    code, out = run("export", "nem12", "--data-dir", data, "--from", "2024-04-01", "--to",
                    "2024-04-02")
    assert code == 2 and "-o" in out
    code, out = run("export", "csv", "--data-dir", data, "--from", "2024-04-01", "--to",
                    "2024-04-02", "--serial", "../etc", "-o", str(tmp_path / "x.csv"))
    assert code == 2 and "not a serial" in out
    code, out = run("export", "nem12", "--data-dir", data, "--from", "2024-04-01", "--to",
                    "2024-04-02", "-o", str(tmp_path / "empty.csv"))
    assert code == 0
    assert (tmp_path / "empty.csv").read_text().splitlines()[1:] == ["900"]


@pytest.mark.parametrize("setting, value, message", [
    ("SINK_INFLUX_URL", "ftp://x", "must be an http(s) URL"),
    ("SINK_MDMS_FORMAT", "xml", "must be one of tempest, picos, processing"),
    ("SINK_MAX_ATTEMPTS", 0, "must be between 1 and 1000"),
    ("SINK_BACKOFF_MAX_SECONDS", 0.5, "must not be less than TEMPEST_SINK_BACKOFF_SECONDS"),
    ("NEM12_UTC_OFFSET", "+10", "must be a UTC offset"),
    ("NEM12_FROM_PARTICIPANT", "A VERY LONG NAME", "1 to 10 of"),
    ("NEM12_ESTIMATED_QUALITY", "X99", "must be a quality flag E, F or S"),
    ("NEM12_METERS", {"kili": {"nmi": "short"}}, "kili: nmi must be 10 of A-Z 0-9"),
    ("NEM12_METERS", {"kili": {"suffixes": {"A": "E1", "B": "E1"}}}, "share a suffix"),
    ("NEM12_METERS", {"kili": {"nim": "NCDE001111"}}, "only nmi and suffixes"),
])
def test_bad_settings_are_refused_naming_them(tmp_path, setting, value, message):
    with pytest.raises(SettingsError) as err:
        create_app({"DATA_DIR": str(tmp_path / "data"), "SINK_BACKOFF_SECONDS": 1.0, setting: value})
    assert err.value.name == f"TEMPEST_{setting}" and message in str(err.value)


def test_a_secret_in_a_url_never_shows(tmp_path):
    s = Store(tmp_path / "data", SINK_INFLUX_URL="http://user:secret@127.0.0.1:9/")
    code, out = run("sinks", "status", "--data-dir", str(tmp_path / "data"))
    assert "secret" not in out and "http://127.0.0.1:9/ bucket=meters" in out
    s.close()
