"""A replay meter's config names a CSV on the meter, not on Tempest's host: Tempest accepts it
as the inventory's desired config (checking everything else as the meter would), and a day
file names only the replayed file, never the folder it sits in on one host or another."""

from __future__ import annotations

import json
import shutil

from meter.config import ConfigError, from_dict
from tests.support import REPO
from tests.support.tempest_client import admin_headers

EXAMPLE = REPO / "examples" / "replay" / "home-mercury.csv"


def replay_raw(file: str, **extra) -> dict:
    return {"serial": "home-1", "timezone": "Pacific/Auckland", "interval_min": 30,
            "replay": {"file": file, "format": "mercury"}, **extra}


def test_tempest_takes_a_replay_config_whose_csv_is_not_on_its_host(client):
    r = client.put("/api/v1/meters/home-1/desired-config", headers=admin_headers(),
                   json={"config": replay_raw("/home/meter/replay/home-mercury.csv")})
    assert r.status_code == 200, r.get_json()
    # Everything else is still checked as the meter would: a replay meter takes no archetype.
    r = client.put("/api/v1/meters/home-1/desired-config", headers=admin_headers(),
                   json={"config": replay_raw("home.csv", archetype="family")})
    assert r.status_code == 400 and r.get_json()["field"] == "config.archetype"


def test_the_meter_itself_still_refuses_a_missing_csv(tmp_path):
    try:
        from_dict(replay_raw(str(tmp_path / "nowhere.csv")))
    except ConfigError as exc:
        assert exc.field == "replay.file"
    else:
        raise AssertionError("a missing replay CSV was accepted")


def test_day_files_name_the_csv_not_its_folder(tmp_path):
    here, there = tmp_path / "controller" / "data", tmp_path / "pi" / "home" / "meter"
    for folder in (here, there):
        folder.mkdir(parents=True)
        shutil.copyfile(EXAMPLE, folder / EXAMPLE.name)
    a = from_dict(replay_raw(str(here / EXAMPLE.name)))
    b = from_dict(replay_raw(str(there / EXAMPLE.name)))
    assert a.model["metadata_json"] == b.model["metadata_json"]
    meta = json.loads(a.model["metadata_json"])
    assert meta["config"]["replay"] == {"file": EXAMPLE.name, "format": "mercury"}
    assert str(tmp_path) not in a.model["metadata_json"]
