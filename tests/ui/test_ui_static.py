"""Without a browser: every /ui route is in docs/ui.md, the vendored uPlot is what VENDORED.md
records, a wheel's package data carries every template and static file, pages never carry a
key, and the fleet-config store keeps agent keys out of the store and out of answers."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import tomllib
from fnmatch import fnmatch

from tempest.fleetconfig import agentkeys, desired
from tests.support import REPO
from tests.support.tempest_client import admin_headers
from tests.tempest.tempest_testdata import issue_key

UI = REPO / "tempest" / "ui"


def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_ui_route_is_in_docs_ui_md(app):
    doc = (REPO / "docs" / "ui.md").read_text()
    for rule in app.url_map.iter_rules():
        if rule.rule == "/ui" or rule.rule.startswith("/ui/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert f"{method} {_path(rule.rule)}" in doc, f"{method} {rule.rule}"


def test_vendored_files_match_their_record():
    record = (UI / "static" / "vendor" / "VENDORED.md").read_text()
    pairs = re.findall(r"^([0-9a-f]{64})  (\S+)$", record, re.M)
    assert len(pairs) == 3
    for digest, name in pairs:
        data = (UI / "static" / "vendor" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert "MIT" in (UI / "static" / "vendor" / "uplot" / "LICENSE").read_text()
    for template in (UI / "templates").glob("*.html"):
        text = template.read_text()
        assert "http://" not in text and "https://" not in text, template.name  # no CDN


def test_package_data_carries_every_ui_file():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["tempest.ui"]
    files = [p.relative_to(UI).as_posix() for p in UI.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert files
    for f in files:
        assert any(fnmatch(f, g) and f.count("/") == g.count("/") for g in globs), f


def test_agent_keys_live_in_a_private_file_and_never_in_answers(app, client, conn):
    from tempest.settings import layout

    data_dir, secrets_dir = layout(app.config).data_dir, layout(app.config).secrets
    issue_key(conn, "kili")
    r = client.put("/api/v1/meters/kili/agent-key", json={"key": "secret-agent-key-1"},
                   headers=admin_headers())
    assert r.status_code == 200 and "secret-agent-key-1" not in r.text
    path = secrets_dir / agentkeys.FILE_NAME  # outside the data dir (tempest/secretsdir.py)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (data_dir / agentkeys.FILE_NAME).exists()
    assert agentkeys.get(secrets_dir, "kili") == "secret-agent-key-1"
    raw = (data_dir / "tempest.sqlite3").read_bytes()
    assert b"secret-agent-key-1" not in raw
    assert client.put("/api/v1/meters/kili/agent-key", json={"key": "x"},
                      headers=admin_headers()).status_code == 400
    assert client.put("/api/v1/meters/kili/agent-key",
                      json={"key": "secret-agent-key-1"}).status_code == 401
    assert client.delete("/api/v1/meters/kili/agent-key",
                         headers=admin_headers()).get_json()["deleted"] is True
    assert agentkeys.get(secrets_dir, "kili") is None


def test_desired_config_hash_drift_and_secrets(app, client, conn):
    from core.configdoc import config_hash

    key = issue_key(conn, "kili")
    raw = {"serial": "kili", "timezone": "Pacific/Auckland", "tempest_api_key": key,
           "agent": {"key": "agent-secret-123", "port": 8001}}
    r = client.put("/api/v1/meters/kili/desired-config", json={"config": raw, "source": "t"},
                   headers=admin_headers())
    body = r.get_json()
    assert r.status_code == 200 and body["config_hash"] == config_hash(raw)
    assert body["drift"] == "unknown" and body["agent_key"] is True and body["changed"]
    got = client.get("/api/v1/meters/kili/desired-config").get_json()
    assert key not in json.dumps(got) and "agent-secret-123" not in json.dumps(got)
    client.post("/api/v1/heartbeats", json={"serial": "kili", "config_hash": config_hash(raw)},
                headers={"x-api-key": key})
    assert client.get("/api/v1/meters/kili/desired-config").get_json()["drift"] == "in_sync"
    assert desired.counts(conn)["in_sync"] == 1
    bad = client.put("/api/v1/meters/kili/desired-config",
                     json={"config": {**raw, "interval_min": 7}}, headers=admin_headers())
    assert bad.status_code == 400 and bad.get_json()["field"] == "config.interval_min"
    other = client.put("/api/v1/meters/kili/desired-config",
                       json={"config": {**raw, "serial": "mac"}}, headers=admin_headers())
    assert other.status_code == 400 and other.get_json()["field"] == "config.serial"
    # Pushing without an agent address is refused before anything is sent.
    r = client.post("/api/v1/meters/kili/config/push", headers=admin_headers())
    assert r.status_code == 409 and "agent_url" in r.get_json()["reason"]
    assert client.post("/api/v1/meters/kili/config/push").status_code == 401


def test_pages_never_show_keys(app, client, conn):
    key = issue_key(conn, "kili")
    client.put("/api/v1/meters/kili/agent-key", json={"key": "secret-agent-key-1"},
               headers=admin_headers())
    for path in ("/ui/meters", "/ui/meters/kili", "/ui/config", "/ui/config/kili",
                 "/ui/heartbeats"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert key not in r.text and "secret-agent-key-1" not in r.text, path
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_ui_admin_forms_need_a_session_and_its_csrf_token(app, client):
    r = client.post("/ui/quarantine/0123456789abcdef0123/reingest", data={"csrf": "x"})
    assert r.status_code == 403
    from tests.support.tempest_client import ADMIN_TOKEN

    r = client.post("/ui/login", data={"token": ADMIN_TOKEN, "next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/ui/meters")
    r = client.post("/ui/quarantine/0123456789abcdef0123/reingest", data={"csrf": "x"})
    assert r.status_code == 403  # signed in, but no genuine form
    page = client.get("/ui/quarantine").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = client.post("/ui/quarantine/0123456789abcdef0123/reingest", data={"csrf": csrf},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403  # another origin
    r = client.post("/ui/quarantine/0123456789abcdef0123/reingest", data={"csrf": csrf})
    assert r.status_code == 302  # accepted (and reported: no such file)


def test_sinks_page_shows_queues_and_dead_items_and_retries_them(tmp_path):
    """With a real sink registered by Tempest's own sink code (no worker runs: nothing is
    sent), a day queued by the ingest hook and one item given up on."""
    import time

    from tempest import create_app
    from tempest.db import connect, transaction
    from tempest.settings import layout
    from tempest.sinks import queue, registry
    from tests.support.tempest_client import ADMIN_TOKEN

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "ADMIN_TOKEN": ADMIN_TOKEN,
                      "SINK_MDMS_URL": "http://127.0.0.1:9/"})
    client = app.test_client()
    conn = connect(layout(app.config).database)
    registry.sync(conn, app.config)
    now = time.time()
    with transaction(conn):
        queue.enqueue_day(conn, "kili", "2025-05-26", now)
        queue.enqueue_day(conn, "kili", "2025-05-27", now)
    item = queue.head(conn, "mdms", 1)[0]
    queue.kill(conn, "mdms", item, "422 the MDMS refused it", now)
    page = client.get("/ui/sinks").get_data(as_text=True)
    assert 'id="card-mdms"' in page and "No sinks configured" not in page
    assert "Dead items (1)" in page and "the MDMS refused it" in page
    assert re.search(r'class="queued">1\b', page)
    assert "127.0.0.1:9" in page
    client.post("/ui/login", data={"token": ADMIN_TOKEN})
    page = client.get("/ui/sinks").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = client.post("/ui/sinks/mdms/retry", data={"csrf": csrf, "id": str(item.id)})
    assert r.status_code == 302
    page = client.get("/ui/sinks").get_data(as_text=True)
    assert "Dead items (0)" in page and re.search(r'class="queued">2\b', page)
    conn.close()
