"""What the meter checks itself before a file leaves: the same parser Tempest runs.

A file that fails here would be refused by Tempest too (422) or refused for the wrong key
(403, forever), so it is set aside at once, with the reason, without needing Tempest: a corrupt
file never blocks the outbox, and never costs a request.
"""

from __future__ import annotations

from core import dayfile_reader
from meter.delivery.folders import Entry


class Problem(ValueError):
    def __init__(self, reason: str, field: str = "", line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.line = line

    def as_dict(self) -> dict:
        return {"status": None, "error": "invalid_day_file", "reason": self.reason,
                "field": self.field, "line": self.line, "checked_by": "meter"}


def check(data: bytes, serial: str, entry: Entry | None = None) -> dayfile_reader.Day:
    """The parsed day, or Problem. `entry` (an outbox name) must agree with the content."""
    if entry is not None and entry.day is None:
        raise Problem(f"{entry.name!r} is not a day file name (<serial>_<YYYY-MM-DD>.json)")
    try:
        day = dayfile_reader.parse(data)
    except dayfile_reader.DayFileError as exc:
        raise Problem(exc.reason, exc.field, exc.line) from exc
    if day.serial != serial:
        raise Problem(f"the file is meter {day.serial!r}'s; this meter is {serial!r} and its "
                      "key would be refused for it", "serial")
    if entry is not None and (entry.serial, entry.day) != (day.serial, day.reading_day):
        raise Problem(f"the name says {entry.serial} {entry.day} but the file holds "
                      f"{day.serial} {day.reading_day}", "reading_day")
    return day
