"""The meter agent's `POST /config` against thousands of malformed configs and bad keys,
through Flask's test client: each refused with a reason (400 naming the field, 401, 413),
never a 5xx, and the config on disk untouched (no last-good copy made either)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from meter.agent import configstore, create_app
from meter.config import ConfigError
from meter.config import read as read_config
from tests.hardening import corpus, malformed
from tests.hardening.fuzzcount import FUZZ

EXAMPLES = 1500
AGENT_KEY = corpus.meter_config()["agent"]["key"]


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agent")
    path = folder / "config.json"
    path.write_text(json.dumps(corpus.meter_config(), indent=1))
    app = create_app({"CONFIG_PATH": str(path), "DATA_DIR": str(folder / "meter")})
    return app.test_client(), path


def would_apply(body: bytes, current) -> bool:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(doc, dict):
        return False
    try:
        configstore.check(current, configstore.carry_secrets(current.raw, doc))
    except ConfigError:
        return False
    return True


bodies = st.one_of(malformed.as_bytes([corpus.meter_config()]), malformed.garbage(),
                   st.just(b'{"serial": "kili", "x": "' + b"a" * (300 * 1024) + b'"}'))


def test_malformed_configs_are_refused_and_the_config_stays(agent):
    client, path = agent
    before = path.read_bytes()
    current = read_config(path)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies, key=st.sampled_from([AGENT_KEY] * 6 + [None, "wrong-key", ""]))
    def one(body, key):
        assume(key != AGENT_KEY or not would_apply(body, current))
        FUZZ["agent POST /config: malformed configs"] += 1
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["x-api-key"] = key
        r = client.post("/config", data=body, headers=headers)
        assert r.status_code in (400, 401, 413), (r.status_code, body[:200], r.get_data()[:300])
        doc = json.loads(r.get_data())
        assert doc["error"] and doc["reason"]
        if key != AGENT_KEY:
            assert r.status_code == 401
        elif r.status_code == 400:
            assert doc["error"] == "invalid_config" and "field" in doc
        assert path.read_bytes() == before
        assert not path.with_name(path.name + ".last-good").exists()

    one()
