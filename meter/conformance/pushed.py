"""Read what Tempest's MDMS push delivered: the `tempest.day.v1` bodies (docs/sinks.md) as the
reference receiver logs them (`requests.jsonl`, one request a line, the body as text), or one
body a line.

An MDMS keeps the last version of each meter-day it is pushed: the highest `revision`, and of
equal ones the later push. Its readings are the import channel's, on each interval's end, with
the quality Tempest gave it (`actual`, `estimated`, `missing`).
"""

from __future__ import annotations

import json
from pathlib import Path

from meter.conformance.mdms_output import OutputError, Reading, instant_of, quality_of

DAY_FORMAT = "tempest.day.v1"


def looks_pushed(text: str) -> bool:
    return text.lstrip().startswith("{")


def read(path: Path, text: str) -> list[Reading]:
    latest: dict[tuple[str, str], tuple[int, int, dict, int]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            if "body" in doc:  # the reference receiver's log: only accepted day pushes
                if doc.get("outcome") != "accepted" or doc.get("path") != "/ingestions/days":
                    continue
                doc = json.loads(doc["body"])
        except (ValueError, TypeError) as exc:
            raise OutputError(path, n, "(line)", f"not JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != DAY_FORMAT:
            raise OutputError(path, n, "format", f"not a {DAY_FORMAT} body (push the "
                              "'tempest' format: TEMPEST_SINK_MDMS_FORMAT=tempest)")
        key = (str(doc.get("serial")), str(doc.get("day")))
        rank = (int(doc.get("revision") or 0), n)
        if key not in latest or rank > latest[key][:2]:
            latest[key] = (*rank, doc, n)
    out = []
    for (serial, _), (_, _, doc, n) in sorted(latest.items()):
        roles = [c.get("role") for c in doc.get("channels", [])]
        if "import" not in roles:
            raise OutputError(path, n, "channels", "no import channel")
        col = roles.index("import")
        for k, r in enumerate(doc.get("readings", [])):
            try:
                q = quality_of(r.get("quality", ""), path, n, "readings.quality")
                values = r.get("values")
                v = None if values is None else values[col]
                wh = None if v is None else round(v * 1000)
                end = instant_of(r["end"], path, n, "readings.end")
            except (KeyError, IndexError, TypeError, AttributeError) as exc:
                raise OutputError(path, n, f"readings.{k}", f"not a reading: {exc!r}") from exc
            out.append(Reading(serial, end, wh, q if wh is not None else "missing"))
    return out
