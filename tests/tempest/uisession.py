"""Driving the web UI's admin sign-in and forms with plain HTTP (no browser), for the tests
that put a real `tempest serve` behind a real proxy or replay a saved session cookie."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.support.tempest_client import ADMIN_TOKEN
from tests.support.waiting import wait_for

COOKIE = "tempest_ui"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def quarantine_one(data_dir: Path, name: str = "kili_2024-03-01.json") -> None:
    """A file ingest will quarantine (not JSON), dropped before Tempest starts."""
    drop = data_dir / "drop"
    drop.mkdir(parents=True, exist_ok=True)
    (drop / name).write_bytes(b"{this is not a day file")


def quarantined_id(base: str, verify=True) -> str:
    def first():
        items = requests.get(base + "/api/v1/quarantine", timeout=10, verify=verify).json()["items"]
        return items[0]["id"] if items else None

    return wait_for(first, 30, 0.2, "the dropped file in quarantine")


def quarantine_record(base: str, qid: str, verify=True) -> dict:
    return requests.get(f"{base}/api/v1/quarantine/{qid}", timeout=10, verify=verify).json()


# verify= on every call: a Session's own `verify` loses to REQUESTS_CA_BUNDLE (requests#3829).


def sign_in(s: requests.Session, base: str, token: str = ADMIN_TOKEN) -> requests.Response:
    """POST /ui/login as a browser would (with its Origin); the answer, not followed."""
    r = s.post(base + "/ui/login", data={"token": token, "next": "/ui/quarantine"},
               headers={"Origin": base}, allow_redirects=False, timeout=10, verify=s.verify)
    assert r.status_code == 302, r.text
    return r


def csrf(s: requests.Session, base: str) -> str:
    """The CSRF token a signed-in admin's page carries ('' when the page shows no admin)."""
    page = s.get(base + "/ui/quarantine", timeout=10, verify=s.verify)
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    return found.group(1) if found else ""


def post_form(s: requests.Session, base: str, path: str, token: str) -> requests.Response:
    """An admin form posted as a browser posts it: same Origin, the CSRF token in the body."""
    return s.post(base + path, data={"csrf": token}, headers={"Origin": base},
                  allow_redirects=False, timeout=10, verify=s.verify)
