"""One HTTP request to Tempest, and what it means for the file (docs/protocol.md).

    2xx                         sent: Tempest has it (it dedupes, so sending again is safe)
    400, 413, 422               rejected: the file itself is the problem; it will never succeed
    anything else               retry later: 401/403 (a key not yet issued or being rotated),
                                404 (wrong URL), 408, 429, 5xx, timeouts, refused connections

The versioned route is tried first; a 404 there means a seed-era Tempest, so the seed's route
(`update`, `heartbeat`) is tried once in the same pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

SENT, REJECTED, RETRY = "sent", "rejected", "retry"
PERMANENT = frozenset({400, 413, 422})
BODY_LIMIT = 2000  # characters of Tempest's answer kept in reasons and logs

DAYS_ROUTES = ("api/v1/days", "update")
HEARTBEAT_ROUTES = ("api/v1/heartbeats", "heartbeat")


@dataclass
class Outcome:
    kind: str  # SENT, REJECTED or RETRY
    status: int | None  # HTTP status, None when no answer came
    reason: str
    body: object = None  # Tempest's JSON answer (or its text), if any
    url: str | None = None

    def as_reason(self) -> dict:
        return {"status": self.status, "reason": self.reason, "body": self.body, "url": self.url}


def classify(status: int) -> str:
    if 200 <= status < 300:
        return SENT
    if status in PERMANENT:
        return REJECTED
    return RETRY


def _body(resp: requests.Response) -> object:
    try:
        return resp.json()
    except ValueError:
        return resp.text[:BODY_LIMIT]


def _reason(status: int, body: object) -> str:
    if isinstance(body, dict):
        text = body.get("reason") or body.get("error")
        if body.get("field"):
            text = f"{text} (field {body['field']})"
        if text:
            return f"HTTP {status}: {text}"
    return f"HTTP {status}"


def _network_reason(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        # The innermost cause ("Connection refused", "Name or service not known") is the
        # useful part of urllib3's long message.
        inner = exc.args[0] if exc.args else exc
        text = str(getattr(inner, "reason", inner))
        return f"cannot connect: {text[-300:]}"
    return f"request failed: {exc}"


class Tempest:
    """Requests to one Tempest with one key; keeps the connection open for a whole pass."""

    def __init__(self, base_url: str, api_key: str | None, timeout: float,
                 session: requests.Session | None = None):
        self.base = base_url
        self.key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()
        self.seed_days = False  # this Tempest has no /api/v1/days: use the seed's /update
        self.seed_heartbeat = False

    def close(self) -> None:
        self.session.close()

    def post(self, route: str, data: bytes) -> Outcome:
        url = self.base + route
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["x-api-key"] = self.key
        try:
            # The key travels only in this header; it is never put in a log or a reason.
            resp = self.session.post(url, data=data, headers=headers, timeout=self.timeout,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            return Outcome(RETRY, None, _network_reason(exc, self.timeout), url=url)
        body = _body(resp)
        return Outcome(classify(resp.status_code), resp.status_code,
                       _reason(resp.status_code, body), body, url)

    def post_day(self, data: bytes) -> Outcome:
        if not self.seed_days:
            out = self.post(DAYS_ROUTES[0], data)
            if out.status != 404:
                return out
            self.seed_days = True
        return self.post(DAYS_ROUTES[1], data)

    def post_heartbeat(self, doc: dict, seed_doc: dict) -> Outcome:
        if not self.seed_heartbeat:
            out = self.post(HEARTBEAT_ROUTES[0], json.dumps(doc).encode())
            if out.status != 404:
                return out
            self.seed_heartbeat = True
        return self.post(HEARTBEAT_ROUTES[1], json.dumps(seed_doc).encode())
