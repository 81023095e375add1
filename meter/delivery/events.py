"""Every delivery outcome with its reason: to the log (stderr, so cron mails it) and to
<root>/delivery.log, one JSON object per line, so an operator or a test can see what happened
to each file after the process is gone.

The log file is capped (rotated once to delivery.log.1 at 1 MiB) and writing it is best effort:
a full disk must not turn a successful upload into a failure.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("meter.delivery")
LOG_NAME = "delivery.log"
MAX_BYTES = 1024 * 1024

# Outcomes that are a problem (logged as warnings); the rest are routine (info).
_PROBLEMS = {"rejected", "retry", "error", "skipped"}


def now_iso() -> str:
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds")


class Events:
    def __init__(self, root: Path, serial: str):
        self.path = Path(root) / LOG_NAME
        self.serial = serial

    def record(self, event: str, file: str | None = None, **fields) -> dict:
        doc = {"time": now_iso(), "serial": self.serial, "event": event}
        if file is not None:
            doc["file"] = file
        doc.update({k: v for k, v in fields.items() if v is not None})
        level = logging.WARNING if event in _PROBLEMS else logging.INFO
        reason = fields.get("reason")
        log.log(level, "%s: %s%s%s", self.serial, event, f" {file}" if file else "",
                f": {reason}" if reason else "")
        self._append(doc)
        return doc

    def _append(self, doc: dict) -> None:
        line = json.dumps(doc, sort_keys=True) + "\n"
        try:
            if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                os.replace(self.path, self.path.with_name(LOG_NAME + ".1"))
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            log.warning("%s: cannot write %s: %s", self.serial, self.path, exc)


def read(root: Path, limit: int = 200) -> list[dict]:
    """The most recent events (for the agent and tests), oldest first."""
    path = Path(root) / LOG_NAME
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines[-limit:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line torn by a crash or a full disk
    return out
