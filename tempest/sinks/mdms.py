"""The MDMS push: one HTTP POST of JSON per stored day, with the MDMS's API key and an
`Idempotency-Key` header (serial:day:sha256 of the body) so the MDMS can drop repeats.

Outcomes (tempest/sinks/backoff.py): 2xx delivered; 5xx, 408, 429 and timeouts retried with
capped backoff (Retry-After honoured); 401/403 and an unreachable MDMS pause the queue; any
other 4xx parks the day as dead with the MDMS's answer as the reason.
"""

from __future__ import annotations

import hashlib

import requests

from core import __version__
from tempest.read.stored import StoredDay
from tempest.sinks import formats
from tempest.sinks.backoff import PAUSE, RETRY, Failure, for_status, retry_after_seconds, short

CONNECT_TIMEOUT = 5.0


class MdmsSink:
    name = kind = "mdms"
    max_items = 1  # one day per request
    capacity = 1

    def __init__(self, url: str, api_key: str | None, fmt: str, timeout: float):
        self.fmt = fmt
        self.url = url.rstrip("/") + formats.PATHS[fmt]
        self.target = f"{self.url} ({fmt})"
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = requests.Session()
        self.session.headers.update({"Content-Type": "application/json",
                                     "User-Agent": f"tempest/{__version__}"})
        if api_key:
            self.session.headers["x-api-key"] = api_key

    @staticmethod
    def cost(day: StoredDay) -> int:
        return 1

    def prepare(self, days: list[StoredDay]) -> list[tuple[bytes, str]]:
        """Each day's body and idempotency key."""
        out = []
        for day in days:
            payload = formats.body(self.fmt, day)
            out.append((payload, formats.idempotency_key(day, payload)))
        return out

    def send(self, prepared: list[tuple[bytes, str]]) -> list[str | None]:
        return [self.post(payload, key) for payload, key in prepared]

    def post(self, payload: bytes, key: str) -> str:
        """Send one day; returns the body's sha256. Raises Failure."""
        try:
            r = self.session.post(self.url, data=payload, timeout=self.timeout,
                                  headers={"Idempotency-Key": key})
        except requests.ConnectTimeout:
            raise Failure(PAUSE, f"MDMS unreachable at {self.url}: connect timed out") from None
        except requests.Timeout:
            raise Failure(RETRY, f"MDMS did not answer within {self.timeout[1]:g} s") from None
        except requests.ConnectionError as exc:
            raise Failure(PAUSE, f"MDMS unreachable at {self.url}: {short(exc)}") from None
        except requests.RequestException as exc:
            raise Failure(RETRY, f"MDMS request failed: {short(exc)}") from None
        if 200 <= r.status_code < 300:
            return hashlib.sha256(payload).hexdigest()
        raise for_status(r.status_code, f"MDMS answered {r.status_code}: {r.text[:300].strip()}",
                         retry_after_seconds(r.headers.get("Retry-After")))

    def close(self) -> None:
        self.session.close()
