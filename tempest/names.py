"""Names Tempest accepts or makes: serials, days, ingest ids and the files in its folders.

Every serial, day, channel and file name that reaches a path or a query goes through here, so
nothing from outside can climb out of a folder (no `..`, no separators, no hidden names).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from core import civil

# The day file's own rules (docs/day-file.md): letters, digits, _ . -; never "..".
# Each is matched whole (re.fullmatch): with `^...$`, Python's `$` also matches before a final
# "\n", and "A\n" was issued a key, archived under archive/A\n/ and split log lines.
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID = re.compile(r"[0-9a-f]{20}")
# Upload, re-ingest and DLMS-collected files carry their ingest id in the name:
# <stem>.<marker>-<id>.json; the marker is the route the file came by (files.source).
_MARKED = re.compile(r"\.(up|re|dl)-([0-9a-f]{20})\.json\Z")
_MARKER_SOURCE = {"up": "upload", "re": "reingest", "dl": "dlms"}
# rsync writes `.<name>.XXXXXX` and renames it into place.
_RSYNC_TEMP = re.compile(r"\..+\.[A-Za-z0-9]{6}")
_TEMP_SUFFIXES = (".tmp", ".part", "~", ".swp")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def valid_serial(serial: object) -> bool:
    return isinstance(serial, str) and bool(_SERIAL.fullmatch(serial)) and ".." not in serial


def valid_channel(name: object) -> bool:
    return isinstance(name, str) and bool(_CHANNEL.fullmatch(name)) and ".." not in name


def valid_day(day: object) -> bool:
    if not isinstance(day, str) or not _DAY.fullmatch(day):
        return False
    try:
        civil.parse_day(day)
    except ValueError:
        return False
    return True


def valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def new_id() -> str:
    return secrets.token_hex(10)


def derived_id(name: str, digest: str) -> str:
    """A dropped file's id: the same name and bytes give the same id, so a file processed just
    before a crash is recognised when it is found again."""
    return hashlib.sha256(f"{name}\0{digest}".encode()).hexdigest()[:20]


def ignored(name: str) -> bool:
    """Hidden and temporary names are never read: they are still being written."""
    return not name or name.startswith(".") or name.endswith(_TEMP_SUFFIXES)


def is_rsync_temp(name: str) -> bool:
    return bool(_RSYNC_TEMP.fullmatch(name))


def marked(name: str) -> tuple[str, str] | None:
    """(source, id) when the name carries an ingest id, else None."""
    m = _MARKED.search(name)
    if not m:
        return None
    return _MARKER_SOURCE[m.group(1)], m.group(2)


def upload_name(serial: str, day: str, ingest_id: str, marker: str = "up") -> str:
    return f"{safe(serial)}_{safe(day)}.{marker}-{ingest_id}.json"


def archive_name(serial: str, day: str, digest: str) -> str:
    """Named by content, so the same bytes delivered twice leave one archived file."""
    return f"{serial}_{day}.{digest[:16]}.json"


def safe(name: str, limit: int = 120) -> str:
    """A name made safe for a folder: no separators, no leading dot."""
    cleaned = _UNSAFE.sub("_", name)[:limit].lstrip(".")
    return cleaned or "file"


def quarantine_name(name: str, ingest_id: str) -> str:
    cleaned = safe(name)
    return cleaned if ingest_id in cleaned else f"{ingest_id}_{cleaned}"
