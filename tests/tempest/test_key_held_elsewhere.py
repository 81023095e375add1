"""A key another meter already holds is refused cleanly (security finding 15).

`tempest meters add --key-stdin` crashed with an IntegrityError traceback and
`POST /api/v1/meters` answered 500 when the key given was another meter's. Now the CLI says so
in one line naming the option and exits 2, the API answers 409 with a JSON reason naming the
field, and nothing stored changes.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import closing

import pytest

from tempest.db import connect
from tests.support import REPO
from tests.support.tempest import store_of
from tests.support.tempest_client import admin_headers

KILI_KEY = "kili-key-0123456789abcdef"
MAC_KEY = "mac-key-0123456789abcdef"


@pytest.fixture
def served(make_tempest):
    server = make_tempest().start()
    for serial, key in (("kili", KILI_KEY), ("mac", MAC_KEY)):
        r = server.post("/api/v1/meters", json={"serial": serial, "key": key,
                                                "timezone": "Pacific/Auckland"},
                        headers=admin_headers())
        assert r.status_code == 201, r.text
    return server


def _meters(server) -> list[tuple]:
    with closing(connect(store_of(server.data_dir))) as conn:
        return [tuple(r) for r in conn.execute("SELECT * FROM meters ORDER BY serial")]


def _both_keys_still_work(server) -> None:
    for serial, key in (("kili", KILI_KEY), ("mac", MAC_KEY)):
        r = server.post("/api/v1/heartbeats", json={"serial": serial},
                        headers={"x-api-key": key})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("body", [
    {"serial": "new1", "key": KILI_KEY},  # a new meter
    {"serial": "mac", "key": KILI_KEY, "timezone": "Europe/Berlin"},  # one with its own key
    {"serial": "mac", "key": KILI_KEY, "rotate": True},  # ... asked to rotate to it
], ids=["new", "existing", "rotate"])
def test_the_api_answers_409_and_changes_nothing(served, body):
    before = _meters(served)
    r = served.post("/api/v1/meters", json=body, headers=admin_headers())
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict" and r.json()["field"] == "key"
    assert "another meter" in r.json()["reason"] and KILI_KEY not in r.text
    assert _meters(served) == before
    _both_keys_still_work(served)


@pytest.mark.parametrize("args", [["new1"], ["mac", "--timezone", "Europe/Berlin"],
                                  ["mac", "--rotate"]], ids=["new", "existing", "rotate"])
def test_the_cli_refuses_in_one_line_with_exit_2_and_changes_nothing(served, args):
    before = _meters(served)
    out = subprocess.run([sys.executable, "-m", "tempest", "meters", "add", *args,
                          "--key-stdin", "--data-dir", str(served.data_dir)],
                         input=KILI_KEY + "\n", capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and "IntegrityError" not in out.stderr
    assert "'--key-stdin'" in out.stderr and "another meter" in out.stderr
    assert KILI_KEY not in out.stderr + out.stdout
    assert _meters(served) == before
    _both_keys_still_work(served)
