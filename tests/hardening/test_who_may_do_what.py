"""Who may do what (docs/security.md): every endpoint of Tempest and of the meter agent has a
row saying who may call it, generated here from the apps' url_maps so a new endpoint without
a row fails; every endpoint that is not public refuses each caller without the right key and
changes nothing; and the right caller does get in."""

from __future__ import annotations

import json

import pytest

from meter.agent import create_app as agent_app
from tests.hardening import access, corpus
from tests.hardening.state import Stored
from tests.support.tempest_client import ADMIN_TOKEN

ROWS = access.table()
AGENT_KEY = corpus.meter_config()["agent"]["key"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    s = Stored(tmp_path_factory.mktemp("access"))
    r = s.client.post("/api/v1/days", data=b'{"serial": "kili"}',
                      headers={"x-api-key": s.key})
    s.ids = {"qid": r.get_json()["id"]}
    s.ids["ingest_id"] = s.conn.execute("SELECT id FROM files WHERE outcome = 'stored' "
                                        "LIMIT 1").fetchone()[0]
    yield s
    s.close()


def _agent(tmp_path, with_key: bool = True):
    cfg = corpus.meter_config()
    if not with_key:
        del cfg["agent"]["key"]
    path = tmp_path / ("agent.json" if with_key else "agent-nokey.json")
    path.write_text(json.dumps(cfg))
    return agent_app({"CONFIG_PATH": str(path), "DATA_DIR": str(tmp_path / "m")}).test_client(), \
        path


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    return _agent(tmp_path_factory.mktemp("agent"))


def test_every_endpoint_has_a_row_in_docs_security_md(tmp_path, stored):
    found = access.endpoints(stored.app, "tempest") | access.endpoints(
        _agent(tmp_path)[0].application, "agent")
    listed = set(ROWS)
    assert not found - listed, f"endpoints without a row: {sorted(found - listed)}"
    assert not listed - found, f"rows for no endpoint: {sorted(listed - found)}"


def _callers(who: str, s: Stored) -> dict[str, dict]:
    """The wrong callers for an endpoint of class `who`: name -> headers."""
    meter, other = {"x-api-key": s.key}, {"x-api-key": s.other_key}
    bad_token = {"Authorization": "Bearer not-the-admin-token-0123456789"}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return {
        "meter": {"nobody": {}, "unknown key": {"x-api-key": "no-such-key-0123456789"},
                  "another meter": other, "admin token": admin},
        "meter-or-admin": {"nobody": {}, "another meter": other, "wrong token": bad_token},
        "concentrator": {"nobody": {}, "unknown key": {"x-api-key": "no-such-key-0123456789"},
                         "a meter key": meter, "admin token": admin},
        "admin": {"nobody": {}, "wrong token": bad_token, "a meter key": meter,
                  "a token in x-api-key": {"x-api-key": ADMIN_TOKEN}},
        "admin-session": {"nobody": {}, "the API token": admin, "a meter key": meter},
        "session-form": {"nobody": {}},
        "agent-key": {"nobody": {}, "wrong key": {"x-api-key": "wrong-agent-key-0123456789"},
                      "Tempest's meter key": {"x-api-key": corpus.meter_config()[
                          "tempest_api_key"]}, "empty": {"x-api-key": ""}},
    }.get(who, {})


PROTECTED = sorted(k for k, who in ROWS.items() if who not in ("public", "sign-in"))


@pytest.mark.parametrize("row", PROTECTED, ids=[" ".join(k) for k in PROTECTED])
def test_refused(row, stored, agent):
    app, method, route = row
    who = ROWS[row]
    client = stored.client if app == "tempest" else agent[0]
    url = access.fill(route, stored.ids)
    before = stored.fingerprint() if app == "tempest" else agent[1].read_bytes()
    for caller, headers in _callers(who, stored).items():
        r = client.open(url, method=method, headers=headers, **access.body(app, method, route))
        assert r.status_code in (401, 403), f"{caller}: {r.status_code} {r.get_data()[:200]}"
        if route.startswith("/ui/"):  # an HTML page saying why
            assert b"admin" in r.get_data() or b"form" in r.get_data(), caller
        else:
            doc = r.get_json(silent=True) or {}
            assert doc.get("error") and doc.get("reason"), (caller, doc)
    after = stored.fingerprint() if app == "tempest" else agent[1].read_bytes()
    assert after == before


def test_admin_routes_are_closed_without_an_admin_token(tmp_path):
    s = Stored(tmp_path, ADMIN_TOKEN=None)
    for (app, method, route), who in ROWS.items():
        if app == "tempest" and who == "admin":
            r = s.client.open(access.fill(route, {"qid": "0" * 20, "ingest_id": "0" * 20}),
                              method=method, headers={"Authorization": "Bearer anything-at-all"},
                              **access.body(app, method, route))
            assert r.status_code == 403, (method, route, r.status_code)
    s.close()


def test_ui_admin_forms_need_a_session_and_its_csrf_token(stored):
    c = stored.app.test_client()
    r = c.post("/ui/login", data={"token": "not-the-token"})
    assert r.status_code == 302 and "login" in r.headers["Location"]
    for (_app, method, route), who in ROWS.items():
        if who == "admin-session" and method == "POST":
            assert c.post(access.fill(route, stored.ids)).status_code == 403
    assert c.post("/ui/login", data={"token": ADMIN_TOKEN}).status_code == 302
    before = stored.fingerprint()
    for (_app, method, route), who in ROWS.items():
        if who in ("admin-session", "session-form") and method == "POST":
            r = c.post(access.fill(route, stored.ids), data={"csrf": "forged"})
            assert r.status_code == 403, route
    assert stored.fingerprint() == before


def test_agent_without_a_key_accepts_no_change(tmp_path):
    client, path = _agent(tmp_path, with_key=False)
    before = path.read_bytes()
    for (app, method, route), who in ROWS.items():
        if app == "agent" and who == "agent-key":
            r = client.open(route, method=method, headers={"x-api-key": AGENT_KEY},
                            **access.body(app, method, route))
            assert r.status_code == 403, route
    assert path.read_bytes() == before


def test_the_right_callers_get_in(tmp_path):
    """The refusals above are about the key: with it, each class of caller is let in."""
    s = Stored(tmp_path)
    own = {"x-api-key": s.key}
    assert s.client.post("/api/v1/days", headers=own, **access.body(
        "tempest", "POST", "/api/v1/days")).status_code == 202
    assert s.client.post("/heartbeat", headers=own, json=corpus.heartbeat()).status_code == 200
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert s.client.post("/api/v1/meters", headers=admin,
                         json={"serial": "newmeter"}).status_code == 201
    assert s.client.get("/api/v1/meters/kili/desired-config",
                        headers={"x-admin-token": ADMIN_TOKEN}).status_code == 200
    client, path = _agent(tmp_path)
    r = client.post("/config", headers={"x-api-key": AGENT_KEY}, json=corpus.meter_config())
    assert r.status_code == 200, r.get_json()
    s.close()


PUBLIC = sorted(k for k, who in ROWS.items() if who == "public")


def test_public_endpoints_read_only(stored, agent):
    """Every public endpoint is a GET, answers without any key, and changes nothing."""
    before = stored.fingerprint()
    config_before = agent[1].read_bytes()
    for app, method, route in PUBLIC:
        assert method == "GET", f"{method} {route} is public but not a read"
        client = stored.client if app == "tempest" else agent[0]
        r = client.get(access.fill(route, stored.ids))
        assert r.status_code not in (401, 403) and r.status_code < 500, (route, r.status_code)
    assert stored.fingerprint() == before and agent[1].read_bytes() == config_before
