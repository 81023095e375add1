"""Fixtures for the browser tests: one seeded, real `tempest serve` for the session, a meter
agent for config pushes, and headless Chromium from Debian's package driven by Playwright.

Chromium is never downloaded: the tests use /usr/bin/chromium and skip (saying why) when it
or the playwright package is missing.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.support import REPO, ci_guard
from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.tempest import Tempest
from tests.support.tempest_client import admin_headers
from tests.support.waiting import wait_for
from tests.ui import uiseed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@dataclass
class Seeded:
    tempest: Tempest
    data_dir: Path
    kili_key: str
    kili_raw: dict
    berlin_key: str
    berlin_raw: dict
    agent_url: str
    agent_root: Path
    kili_days: list[str]
    live_day: str
    live_file: bytes
    fleet_keys: dict[str, str] = field(default_factory=dict)
    quarantine_id: str | None = None

    @property
    def url(self) -> str:
        return self.tempest.url


@pytest.fixture(scope="session")
def seeded(tmp_path_factory) -> Seeded:
    base = tmp_path_factory.mktemp("ui")
    data_dir = base / "data"
    database = uiseed.init_store(data_dir)
    fleet_keys = uiseed.register_fleet(database)
    tempest = Tempest(data_dir, base / "tempest.log")
    # The meters' keys and the agent's address are part of their configs (and so of the hash
    # their heartbeats report): issue them first.
    from tempest import keys
    from tempest.db import connect

    store = connect(database)
    try:
        kili_key = keys.add(store, "kili", timezone="Pacific/Auckland").key
        berlin_key = keys.add(store, "berlin-01", timezone="Europe/Berlin").key
    finally:
        store.close()
    agent_host, agent_port = free_address()
    kili_raw = uiseed.kili_config("http://placeholder", kili_key, agent_host, agent_port)
    files = uiseed.day_files(kili_raw, uiseed.KILI_FIRST, uiseed.TODAY - timedelta(days=1))
    live_day = max(files)
    live_file = files.pop(live_day)
    uiseed.drop(data_dir, "kili", files)
    berlin_raw = uiseed.berlin_config()
    uiseed.drop(data_dir, "berlin-01", uiseed.day_files(
        berlin_raw, uiseed.TODAY - timedelta(days=uiseed.BERLIN_DAYS), uiseed.KILI_LAST))
    tempest.start()
    kili_raw["tempest_url"] = tempest.url + "/"
    seeded = Seeded(tempest, data_dir, kili_key, kili_raw, berlin_key, berlin_raw,
                    f"http://{agent_host}:{agent_port}/", base / "kili-meter", sorted(files),
                    live_day, live_file, fleet_keys)
    # Wait until the worker has stored every dropped day.
    wait_for(lambda: tempest.get("/api/v1/meters/kili").json()["days_stored"] == len(files), 60)
    # Heartbeats, inventory configs, a bad upload: over the API.
    for raw, key, agent in ((kili_raw, kili_key, seeded.agent_url),
                            (berlin_raw, berlin_key, None)):
        r = tempest.post("/api/v1/heartbeats", json=uiseed.heartbeat(raw, agent),
                         headers={"x-api-key": key})
        assert r.status_code == 200, r.text
    r = requests.put(f"{tempest.url}/api/v1/meters/kili/desired-config", timeout=30,
                     json={"config": kili_raw, "source": "ui-tests",
                           "agent_url": seeded.agent_url}, headers=admin_headers())
    assert r.status_code == 200 and r.json()["drift"] == "in_sync", r.text
    drifted = {**berlin_raw, "annual_kwh": 3900}
    r = requests.put(f"{tempest.url}/api/v1/meters/berlin-01/desired-config", timeout=30,
                     json={"config": drifted, "source": "ui-tests"}, headers=admin_headers())
    assert r.status_code == 200 and r.json()["drift"] == "drifted", r.text
    bad = files[seeded.kili_days[0]].replace(b'"status": "sealed"', b'"status": "done"')
    r = tempest.post("/api/v1/days", data=bad, headers={"x-api-key": kili_key})
    assert r.status_code == 422, r.text
    seeded.quarantine_id = r.json()["id"]
    yield seeded
    tempest.stop()


@pytest.fixture(scope="session")
def agent(seeded):
    """A real meter agent for kili (`meter agent`) at the address the inventory registered."""
    path = uiseed.write_meter_folder(seeded.agent_root, seeded.kili_raw)
    host, port = seeded.agent_url.split("//")[1].rstrip("/").split(":")
    log = open(seeded.agent_root / "agent.log", "ab")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen([sys.executable, "-m", "meter", "agent", "--config", str(path),
                             "--host", host, "--port", port], cwd=REPO, stdout=log, stderr=log)
    log.close()

    try:
        wait_for(lambda: requests.get(seeded.agent_url, timeout=2).ok, 30,
                 what="the meter agent", ignore=(requests.RequestException,))
        yield seeded.agent_url
    finally:
        stop_process(proc, 10)


@pytest.fixture(scope="session")
def browser():
    ci_guard.require_binary(CHROMIUM, why="Debian package chromium: scripts/setup.sh --test")
    playwright = ci_guard.require_module("playwright.sync_api", "the dev extra has it")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Console:
    """Console errors and uncaught exceptions of one page (CSP violations show up here too)."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  timezone_id="America/New_York", locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.console = Console(pg)
    yield pg
    context.close()
