"""HTTP to a running Tempest, as tests and benchmarks read it: the admin token they start it
with, requests by path, and the reads most tests make (a meter's days, files, heartbeats)."""

from __future__ import annotations

from collections.abc import Iterable

import requests

from tests.support.waiting import wait_for

ADMIN_TOKEN = "test-admin-token-0123456789"


def admin_headers(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TempestClient:
    """A Tempest at `url` ("http://host:port", no trailing slash). Paths may be given with or
    without their leading slash."""

    def __init__(self, url: str, admin_token: str | None = ADMIN_TOKEN):
        self.url = url.rstrip("/")
        self.admin_token = admin_token

    def endpoint(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, admin: bool = False, timeout: float = 30,
                **kw) -> requests.Response:
        """One request; `admin` adds the admin token's bearer header."""
        if admin:
            kw["headers"] = {**admin_headers(self.admin_token), **kw.get("headers", {})}
        return requests.request(method, self.endpoint(path), timeout=timeout, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.request("POST", path, **kw)

    def admin(self, method: str, path: str, **kw) -> requests.Response:
        """A request as the admin (the token's bearer header)."""
        return self.request(method, path, admin=True, **kw)

    # -- a meter's data, as the admin API shows it --------------------------------------------

    def days(self, serial: str) -> dict[str, dict]:
        """The meter's stored days by day ('YYYY-MM-DD'); {} for a meter Tempest does not know."""
        r = self.admin("GET", f"api/v1/meters/{serial}/days?per_page=1000")
        if r.status_code == 404:
            return {}
        r.raise_for_status()
        return {d["day"]: d for d in r.json()["items"]}

    def day_file(self, serial: str, day: str) -> bytes | None:
        """The stored file of that day, byte for byte; None if there is none."""
        r = self.admin("GET", f"api/v1/meters/{serial}/days/{day}/file")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.content

    def files(self, serial: str) -> list[dict]:
        r = self.admin("GET", f"api/v1/meters/{serial}/files?per_page=1000")
        r.raise_for_status()
        return r.json()["items"]

    def heartbeats(self, serial: str) -> list[dict]:
        """The meter's heartbeats as it sent them (newest first); [] if none."""
        r = self.admin("GET", f"api/v1/heartbeats?serial={serial}&limit=500")
        return [h["heartbeat"] for h in r.json()["items"]] if r.ok else []

    def wait_days(self, serial: str, days: Iterable[str], timeout: float = 30) -> dict[str, dict]:
        """Wait until all of `days` are stored; the meter's stored days then."""
        wanted = set(days)

        def all_stored() -> dict[str, dict] | None:
            got = self.days(serial)
            return got if wanted <= got.keys() else None

        return wait_for(all_stored, timeout, 0.1, f"{sorted(wanted)} of {serial} in Tempest")
