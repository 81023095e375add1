"""Live updates (a day delivered while a page is open appears without a reload) and admin
actions (refused without the admin token; re-ingest and a config push to a real meter agent
with it)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.tempest_client import admin_headers
from tests.support.waiting import wait_for
from tests.ui.browsing import shot, sign_in

pytestmark = pytest.mark.slow


def test_a_new_day_appears_without_a_reload(page, seeded):
    page.goto(seeded.url + "/ui/meters/kili")
    page.wait_for_selector("#year-chart[data-ready='1']")
    page.evaluate("window.__noReload = 'still here'")
    before = int(page.locator("#days-stored").inner_text())
    cell = f"#calendar a rect[data-day='{seeded.live_day}']"
    assert page.locator(cell).count() == 0
    r = seeded.tempest.post("/api/v1/days", data=seeded.live_file,
                            headers={"x-api-key": seeded.kili_key})
    assert r.status_code == 202, r.text
    page.wait_for_selector(cell, timeout=20_000)
    assert int(page.locator("#days-stored").inner_text()) == before + 1
    assert page.evaluate("window.__noReload") == "still here"  # the same document
    page.wait_for_selector("#year-chart[data-ready='1']")  # the chart was drawn again
    assert page.console.errors == []


def test_the_change_token_answers_304_until_something_changes(seeded):
    r = requests.get(seeded.url + "/ui/changes?scope=heartbeats", timeout=10)
    etag = r.headers["ETag"]
    again = requests.get(seeded.url + "/ui/changes?scope=heartbeats", timeout=10,
                         headers={"If-None-Match": etag})
    assert again.status_code == 304
    from tests.ui.uiseed import heartbeat

    seeded.tempest.post("/api/v1/heartbeats", json=heartbeat(seeded.berlin_raw),
                        headers={"x-api-key": seeded.berlin_key})
    after = requests.get(seeded.url + "/ui/changes?scope=heartbeats", timeout=10,
                         headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert requests.get(seeded.url + "/ui/changes?scope=nonsense", timeout=10).status_code == 400


def test_admin_actions_are_refused_without_the_token(page, seeded):
    qid = seeded.quarantine_id
    page.goto(seeded.url + "/ui/quarantine")
    assert page.locator(f"#q-{qid}").count() == 1
    assert page.locator(f"#q-{qid} button").count() == 0  # no actions offered
    # Posting the forms anyway: 403, and nothing changes.
    for path in (f"/ui/quarantine/{qid}/reingest", f"/ui/quarantine/{qid}/discard",
                 "/ui/config/kili/push", "/ui/sinks/mdms/retry"):
        r = page.request.post(seeded.url + path, form={"csrf": "x", "config": "{}"})
        assert r.status == 403, path
    assert page.request.get(seeded.url + "/ui/config/kili/agent").status == 403
    # The API refuses too.
    assert requests.post(f"{seeded.url}/api/v1/quarantine/{qid}/reingest",
                         timeout=10).status_code == 401
    # A wrong token does not sign in.
    page.goto(seeded.url + "/ui/login")
    page.fill("input[name=token]", "not-the-admin-token-at-all")
    page.click("form.stack button[type=submit]")
    assert "not the admin token" in page.locator(".flash").inner_text()
    assert page.locator(".badge.admin").count() == 0
    q = requests.get(f"{seeded.url}/api/v1/quarantine/{qid}", timeout=10).json()
    assert q["resolved_at"] is None


def test_a_signed_in_admin_reingests_a_quarantined_file(page, seeded, tmp_path):
    # A second bad file of its own (the first stays for the refusal test).
    bad = seeded.live_file.replace(b'"status": "sealed"', b'"status": "finished"')
    r = seeded.tempest.post("/api/v1/days", data=bad, headers={"x-api-key": seeded.kili_key})
    qid = r.json()["id"]
    sign_in(page, seeded.url)
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "tempest_ui")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert "test-admin-token" not in json.dumps(cookies)
    assert page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)") == "{}{}"
    page.goto(seeded.url + "/ui/quarantine")
    row = page.locator(f"#q-{qid}")
    assert "not one of" in row.locator(".reason").inner_text()
    row.locator("button:has-text('Re-ingest')").click()
    assert "through ingest again" in page.locator(".flash.ok").inner_text()
    q = requests.get(f"{seeded.url}/api/v1/quarantine/{qid}", timeout=10).json()
    assert q["resolution"].startswith("reingested as ")
    # Without the form's CSRF token, even a signed-in admin is refused.
    assert page.request.post(f"{seeded.url}/ui/quarantine/{seeded.quarantine_id}/discard",
                             form={"csrf": "wrong"}).status == 403


def test_an_admin_pushes_a_config_to_the_meter_agent(page, seeded, agent):
    sign_in(page, seeded.url)
    page.goto(seeded.url + "/ui/config/kili")
    assert page.locator("h1 .dr-in_sync").count() == 1
    page.click("button[data-agent-config]")
    page.wait_for_selector("#agent-load-status:has-text('Loaded')")
    text = page.input_value("#push-config")
    cfg = json.loads(text)
    assert cfg["serial"] == "kili" and "key" not in cfg.get("agent", {})
    cfg["annual_kwh"] = 6100
    page.fill("#push-config", json.dumps(cfg, indent=2))
    page.click("#push-form button[type=submit]")
    assert "The agent applied the config" in page.locator(".flash.ok").inner_text()
    shown = requests.get(agent + "config", timeout=10).json()
    assert shown["annual_kwh"] == 6100
    # The meter's next heartbeat reports the new hash: drifted from the inventory.
    status = requests.get(agent, timeout=10).json()
    hb = {"serial": "kili", "config_hash": status["config_hash"], "agent_url": agent}
    seeded.tempest.post("/api/v1/heartbeats", json=hb, headers={"x-api-key": seeded.kili_key})
    page.wait_for_selector("h1 .dr-drifted", timeout=20_000)  # live, no reload
    assert page.locator("#pushes tbody tr").count() >= 1
    # A config the meter would refuse is refused before it leaves Tempest.
    cfg["interval_min"] = 7
    page.fill("#push-config", json.dumps(cfg))
    page.click("#push-form button[type=submit]")
    assert "interval_min" in page.locator(".flash.error").inner_text()
    # The inventory catches up: in sync again.
    new_raw = {**seeded.kili_raw, "annual_kwh": 6100}
    r = requests.put(f"{seeded.url}/api/v1/meters/kili/desired-config", timeout=30,
                     json={"config": new_raw}, headers=admin_headers())
    assert r.json()["drift"] == "in_sync", r.text
    wait_for(lambda: page.locator("h1 .dr-in_sync").count() == 1, 20)
    shot(page, "config-push")
    assert page.console.errors == []
