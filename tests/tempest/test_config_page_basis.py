"""The Config page says what each comparison stands on: the badge on the heartbeat's config
hash (what the meter runs now), the table on the config its latest stored day was written with.
A meter that took a new config today is "in sync" while yesterday's day still shows the old
fields: the page says so instead of contradicting itself."""

from __future__ import annotations

import re

from core import civil, configdoc
from meter import config as meter_config
from meter.daybuild import build_days
from tempest.ingest import dropbox
from tempest.ingest.process import Processor
from tempest.settings import layout
from tests.support.tempest_client import admin_headers
from tests.tempest.tempest_testdata import issue_key

OLD = {"serial": "kili", "timezone": "Pacific/Auckland", "interval_min": 30,
       "archetype": "family", "annual_kwh": 3500, "commissioned": "2024-01-01"}
NEW = {**OLD, "annual_kwh": 5200}
DAY = "2024-05-02"


def _store_day(app, conn, raw: dict) -> None:
    cfg = meter_config.from_dict(raw)
    day = civil.parse_day(DAY)
    built = next(iter(build_days(cfg, day, day, [0] * len(cfg.channel_names))))
    lay = layout(app.config)
    dropbox.write_atomic(lay.drop, f"kili_{DAY}.json", built.text.encode(), durable=False)
    Processor(conn, lay, app.config).process([(p, None) for p in dropbox.scan(lay.drop, 0).ready])


def _setup(app, client, conn, heartbeat_raw: dict) -> str:
    key = issue_key(conn, "kili")
    _store_day(app, conn, OLD)
    r = client.put("/api/v1/meters/kili/desired-config", json={"config": NEW},
                   headers=admin_headers())
    assert r.status_code == 200, r.get_json()
    r = client.post("/api/v1/heartbeats", headers={"x-api-key": key},
                    json={"serial": "kili", "config_hash": configdoc.config_hash(heartbeat_raw)})
    assert r.status_code == 200, r.get_json()
    r = client.get("/ui/config/kili")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _text(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", m.group(1)) if m else ""


def test_in_sync_heartbeat_with_an_older_day_explains_the_differing_field(app, client, conn):
    html = _setup(app, client, conn, heartbeat_raw=NEW)
    assert 'class="badge dr-in_sync"' in html
    assert "heartbeat" in _text(html, "drift-basis")
    note = _text(html, "day-vs-heartbeat")
    assert "runs the inventory's config now" in note and f"day {DAY}" in note
    assert "1 field marked below differs" in note
    assert re.search(r'<tr class="differs"><th scope="row">annual_kwh', html)
    assert f"Meter (day {DAY})" in html


def test_a_drifted_meter_gets_no_such_note(app, client, conn):
    html = _setup(app, client, conn, heartbeat_raw=OLD)
    assert 'class="badge dr-drifted"' in html
    assert _text(html, "day-vs-heartbeat") == ""
    assert re.search(r'<tr class="differs"><th scope="row">annual_kwh', html)
