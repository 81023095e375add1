"""What the "who may do what" test needs: the endpoint list from the apps' url_maps, the
table in docs/security.md, and a request for each endpoint (path filled in, a body the right
caller would have had accepted) sent as one caller or another."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.hardening import corpus
from tests.support import REPO
from tests.tempest.tempest_testdata import make_day

DOC = REPO / "docs" / "security.md"
ROW = re.compile(r"^\| (tempest|agent) \| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| `([a-z-]+)`",
                 re.M)
WHO = ("public", "meter", "meter-or-admin", "admin", "admin-session", "session-form",
       "sign-in", "agent-key", "concentrator")


def endpoints(app, name: str) -> set[tuple[str, str, str]]:
    return {(name, method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def table() -> dict[tuple[str, str, str], str]:
    """(app, method, route) -> who, from docs/security.md."""
    rows = {}
    for app, method, route, who in ROW.findall(DOC.read_text()):
        assert who in WHO, f"{method} {route}: unknown caller class {who!r}"
        assert (app, method, route) not in rows, f"{app} {method} {route} listed twice"
        rows[(app, method, route)] = who
    return rows


def fill(route: str, ids: dict[str, str]) -> str:
    values = {"serial": corpus.SERIAL, "day": "2024-05-26", "date": "2024-05-26",
              "channel": "Channel1", "datastream": "Channel1", "name": "mdms",
              "filename": "ui.css", "cid": "dcu-1", **ids}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], route)


def body(app: str, method: str, route: str) -> dict:
    """Keyword arguments for the test client: what the right caller would send."""
    if method in ("GET", "DELETE"):
        return {}
    if route in ("/api/v1/days", "/update", "/updates"):
        return {"data": make_day(corpus.SERIAL, "2024-06-10"),
                "content_type": "application/json"}
    if route in ("/api/v1/heartbeats", "/heartbeat", "/heartbeats"):
        return {"json": corpus.heartbeat()}
    if app == "agent" and route == "/config":
        return {"json": corpus.meter_config()}
    if route == "/api/v1/meters":
        return {"json": {"serial": "newmeter"}}
    if route == "/api/v1/concentrator/days":
        return {"json": {"files": [make_day(corpus.SERIAL, "2024-06-10").decode()]}}
    if route == "/api/v1/concentrator/heartbeats":
        return {"json": {"heartbeats": [corpus.heartbeat()]}}
    if route == "/api/v1/concentrators":
        return {"json": {"id": "dcu-new"}}
    if route == "/api/v1/concentrators/<cid>/meters":
        return {"json": {"serials": [corpus.SERIAL]}}
    if route.endswith("/desired-config"):
        return {"json": {"config": corpus.meter_config()}}
    if route.endswith("/agent-key"):
        return {"json": {"key": "agent-secret-key-0123456789"}}
    if route.endswith("/retry-dead"):
        return {"json": {}}
    if route == "/api/v1/meters/<serial>" and method == "PATCH":
        return {"json": {"timezone": "Europe/Berlin"}}
    if route.startswith("/ui/"):
        return {"data": {"config": json.dumps(corpus.meter_config()), "token": "wrong-token"}}
    return {}


def dump(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
