"""A scenario delivered through Tempest: its sends as day files, in arrival order, through
Tempest's concentrator route; Tempest stores them and its MDMS push forwards each stored
version to the MDMS (docs/conformance.md#through-tempest).

A send becomes a day file with the meter-side renderer (meter/conformance/meter_quirks.py):
the contract's timestamps (local time with the zone's offset; the clock conventions cannot
travel in a day file), the closing register the opening plus the intervals. The data quirks
travel as they are: zeros, a wrong multiplier, a register that rolls over between days, the
exchange's two serials, days revised, sent twice or out of order (the files go one request
after another, so each lands in Tempest's drop folder after the one before it and Tempest's
"the later delivery wins" sees the scenario's order).
"""

from __future__ import annotations

import time

import requests

from core import civil, tz
from meter.conformance import meter_quirks, quirks
from meter.conformance.delivery import meter_zone, serial_specs
from meter.conformance.scenarios import Scenario
from meter.conformance.truth import meter_config

ROUTE = "api/v1/concentrator/days"


class DeliveryError(RuntimeError):
    """Tempest refused a file or could not be reached: the reason, naming the file."""


def day_files(sc: Scenario, sends: list[quirks.Send]) -> list[tuple[str, str]]:
    """(name, day-file text) of each send, in arrival order."""
    specs = serial_specs(sc)
    out = []
    for seq, send in enumerate(sends, 1):
        spec = specs[send.serial]
        model = meter_config(spec.engine_spec()).model
        zone = meter_zone(spec)
        labels = {r.end: tz.label(zone, r.end) for r in send.rows}
        text = meter_quirks.render(
            [send], (send.serial, civil.format_day(send.day), spec.interval, spec.timezone),
            labels, [("Total", "import", None)], model["generator_json"],
            model["metadata_json"])
        out.append((f"{seq:04d}_{send.serial}_{civil.format_day(send.day)}.json", text))
    return out


def deliver(files: list[tuple[str, str]], url: str, key: str, timeout: float = 30.0,
            session: requests.Session | None = None) -> dict:
    """POST each file to Tempest's concentrator route, one after another; then wait until
    Tempest has ingested every one. Returns the count of each ingest outcome."""
    s = session or requests.Session()
    base = url.rstrip("/") + "/"
    headers = {"x-api-key": key, "Content-Type": "application/json"}
    status_urls = []
    for name, text in files:
        try:
            r = s.post(base + ROUTE, json={"files": [text]}, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise DeliveryError(f"{name}: Tempest at {base} did not answer: {exc}") from exc
        if r.status_code != 200:
            raise DeliveryError(f"{name}: Tempest answered {r.status_code}: {r.text[:300]}")
        item = r.json()["items"][0]
        if item["verdict"] != "accepted":
            raise DeliveryError(f"{name}: {item['verdict']} ({item['http']}): "
                                f"{item.get('reason', item.get('error', ''))}")
        status_urls.append((name, base + item["status_url"].lstrip("/")))
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    for name, status_url in status_urls:
        while True:
            doc = s.get(status_url, headers=headers, timeout=timeout).json()
            if doc.get("status") not in (None, "queued"):
                break
            if time.monotonic() > deadline:
                raise DeliveryError(f"{name}: still queued in Tempest after {timeout:.0f} s")
            time.sleep(0.1)
        if doc["status"] == "quarantined":
            raise DeliveryError(f"{name}: quarantined by Tempest: {doc.get('reason')}")
        outcomes[doc["status"]] = outcomes.get(doc["status"], 0) + 1
    return outcomes
