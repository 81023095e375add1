"""Docs are product: every agent route, delivery command and delivery setting is documented."""

from __future__ import annotations

import json
import re

import click

from meter.agent import create_app
from meter.cli import main
from tests.support import REPO

AGENT_DOC = (REPO / "docs" / "agent-api.md").read_text()
DELIVERY_DOC = (REPO / "docs" / "delivery.md").read_text()
DELIVERY_COMMANDS = ("upload", "sync", "deliver", "heartbeat", "redial", "agent")


def test_every_agent_route_has_an_entry():
    app = create_app({"CONFIG_PATH": "/nonexistent/config.json"})
    routes = {(m, r.rule) for r in app.url_map.iter_rules() if r.endpoint != "static"
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert routes
    for method, rule in sorted(routes):
        assert re.search(rf"^### `{method} {re.escape(rule)}[`?\[]", AGENT_DOC, re.M), \
            f"{method} {rule} has no section in docs/agent-api.md"


def test_every_delivery_command_and_setting_is_documented():
    for name in DELIVERY_COMMANDS:
        assert name in main.list_commands(click.Context(main)), name
        assert f"`meter {name}" in DELIVERY_DOC, f"meter {name} is not in docs/delivery.md"
    schema = json.loads((REPO / "meter" / "schema" / "config.schema.json").read_text())
    for section in ("delivery", "heartbeat"):
        for field in schema["properties"][section]["properties"]:
            assert f"`{section}.{field}`" in DELIVERY_DOC, f"{section}.{field} is undocumented"
    for field in schema["properties"]["agent"]["properties"]:
        assert f"agent.{field}" in AGENT_DOC, f"agent.{field} is not in docs/agent-api.md"
