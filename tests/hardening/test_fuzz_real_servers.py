"""A sample of the generated malformed inputs sent to real servers over HTTP: a real
`tempest serve` (uploads and heartbeats) and a real `meter agent` (POST /config). The same
verdicts as through the test client, no 5xx, the servers stay up, nothing stored changes."""

from __future__ import annotations

import json
import subprocess
import sys

import requests
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tempest.cli import main as tempest_cli
from tempest.db import connect
from tests.hardening import corpus, malformed
from tests.hardening.fuzzcount import FUZZ
from tests.hardening.state import fingerprint
from tests.hardening.test_fuzz_agent import AGENT_KEY, would_apply
from tests.hardening.test_fuzz_heartbeats import bad_heartbeat
from tests.hardening.test_fuzz_uploads import would_accept
from tests.support import REPO
from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.tempest import Tempest
from tests.support.waiting import wait_for

SAMPLE = settings(max_examples=250, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))


def test_a_real_tempest_refuses_malformed_uploads_and_heartbeats(tmp_path):
    data = tmp_path / "data"
    keys = json.loads(CliRunner().invoke(tempest_cli, ["meters", "add", "kili", "--json",
                                                        "--data-dir", str(data)]).stdout)
    for i, text in enumerate(corpus.day_texts()):
        (data / "drop" / f"kili_{i}.json").write_bytes(text)
    tempest = Tempest(data, tmp_path / "tempest.log",
                      TEMPEST_MAX_CONTENT_LENGTH=65536).start()
    conn = connect(data / "tempest.sqlite3")
    session = requests.Session()
    try:
        # Stored, and every file taken from the drop folder (archived): ingest may store a day
        # a moment before it has archived the file, and the fingerprint covers the archive.
        wait_for(lambda: conn.execute("SELECT count(*) FROM days").fetchone()[0] == 6
                 and not list((data / "drop").glob("kili_*.json")), 20)
        before = fingerprint(conn, data / "archive")
        own = {"x-api-key": keys["kili"], "Content-Type": "application/json"}

        @SAMPLE
        @given(malformed.as_bytes(list(corpus.day_docs())) | malformed.garbage())
        def upload(body):
            assume(not would_accept(body, True))
            FUZZ["real tempest serve: uploads"] += 1
            r = session.post(tempest.url + "/api/v1/days", data=body, headers=own, timeout=30)
            assert r.status_code in (400, 403, 413, 422), r.text[:300]
            assert r.json()["reason"]

        @SAMPLE
        @given(bad_heartbeat())
        def heartbeat(case):
            FUZZ["real tempest serve: heartbeats"] += 1
            r = session.post(tempest.url + "/heartbeat", data=case[0], headers=own, timeout=30)
            assert 400 <= r.status_code < 500, r.text[:300]
            assert r.json()["reason"]

        upload()
        heartbeat()
        assert tempest.ready() and fingerprint(conn, data / "archive") == before
    finally:
        conn.close()
        tempest.stop()


def test_a_real_agent_refuses_malformed_configs(tmp_path):
    from meter.config import read as read_config

    host, port = free_address()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**corpus.meter_config(),
                                "agent": {"host": host, "port": port, "key": AGENT_KEY}}))
    before = path.read_bytes()
    current = read_config(path)
    with open(tmp_path / "agent.log", "ab") as log:
        agent = subprocess.Popen([sys.executable, "-m", "meter", "agent", "--config", str(path)],
                                 cwd=REPO, stdout=log, stderr=log)
    url = f"http://{host}:{port}/"
    session = requests.Session()
    try:
        wait_for(lambda: _up(url), 20, what="the agent up")

        @settings(max_examples=150, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(malformed.as_bytes([corpus.meter_config()]) | malformed.garbage(),
               st.sampled_from([AGENT_KEY, AGENT_KEY, "wrong-agent-key-0123"]))
        def post(body, key):
            assume(key != AGENT_KEY or not would_apply(body, current))
            FUZZ["real meter agent: POST /config"] += 1
            r = session.post(url + "config", data=body, headers={"x-api-key": key}, timeout=30)
            assert r.status_code in (400, 401, 413), r.text[:300]
            assert path.read_bytes() == before

        post()
        assert _up(url)
    finally:
        stop_process(agent)


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False
