"""The exports' settings (TEMPEST_NEM12_*, TEMPEST_EXPORT_*), merged into tempest.settings and
documented in docs/operations.md and docs/exports.md."""

from __future__ import annotations

import re

from tempest import names

DEFAULTS: dict[str, object] = {
    "NEM12_UTC_OFFSET": "+10:00",  # NEM time: AEST all year, never daylight saving
    "NEM12_FROM_PARTICIPANT": "TEMPEST",  # the 100 record's sender (up to 10 characters)
    "NEM12_TO_PARTICIPANT": "MDMS",  # ... and receiver
    "NEM12_ESTIMATED_QUALITY": "S17",  # quality+method for intervals the meter estimated
    # Per meter: {"kili": {"nmi": "NCDE001111", "suffixes": {"Total": "E1", "Export": "B1"}}}
    # (a TOML table [NEM12_METERS.kili] or JSON in the environment); wins over the day file.
    "NEM12_METERS": {},
    "EXPORT_MAX_DAYS": 366,  # the widest range one API download may cover
}

TEXT = ("NEM12_UTC_OFFSET", "NEM12_FROM_PARTICIPANT", "NEM12_TO_PARTICIPANT",
        "NEM12_ESTIMATED_QUALITY")

NUMBERS = {"EXPORT_MAX_DAYS": (int, 1, 36600)}

# Each matched whole (re.fullmatch): Python's `$` also matches before a final "\n", and a
# value ending in one would end a record early in the files these fields are written into.
OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
NMI = re.compile(r"[A-Z0-9]{10}")  # NEM12's NMI field: 10 characters, no checksum
SUFFIX = re.compile(r"[A-Z][A-Z0-9]")
PARTICIPANT = re.compile(r"[A-Za-z0-9_-]{1,10}")
ESTIMATED = re.compile(r"[EFS]\d{2}")


def offset_minutes(text: str) -> int:
    """'+10:00' -> 600 (ValueError on anything else)."""
    m = OFFSET.fullmatch(text or "")
    if not m or int(m.group(2)) > 14 or int(m.group(3)) > 59:
        raise ValueError(f"{text!r} is not a UTC offset such as +10:00")
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return -minutes if m.group(1) == "-" else minutes


def meters_problem(value) -> str | None:
    """Why a NEM12_METERS value is unusable, or None."""
    if not isinstance(value, dict):
        return "must be a table of serials, e.g. {\"kili\": {\"nmi\": \"NCDE001111\"}}"
    for serial, entry in value.items():
        if not names.valid_serial(serial):
            return f"{serial!r} is not a serial"
        if not isinstance(entry, dict) or set(entry) - {"nmi", "suffixes"}:
            return f"{serial}: only nmi and suffixes may be set"
        nmi = entry.get("nmi")
        if nmi is not None and not (isinstance(nmi, str) and NMI.fullmatch(nmi)):
            return f"{serial}: nmi must be 10 of A-Z 0-9"
        suffixes = entry.get("suffixes", {})
        if not isinstance(suffixes, dict) or not all(
                names.valid_channel(c) and isinstance(s, str) and SUFFIX.fullmatch(s)
                for c, s in suffixes.items()):
            return f"{serial}: suffixes map channel names to suffixes such as E1 or B1"
        if len(set(suffixes.values())) != len(suffixes):
            return f"{serial}: two channels share a suffix"
    return None


def check(config, error) -> None:
    try:
        offset_minutes(config.get("NEM12_UTC_OFFSET"))
    except ValueError:
        raise error("NEM12_UTC_OFFSET", "must be a UTC offset such as +10:00") from None
    for name in ("NEM12_FROM_PARTICIPANT", "NEM12_TO_PARTICIPANT"):
        if not PARTICIPANT.fullmatch(str(config.get(name) or "")):
            raise error(name, "must be 1 to 10 of A-Z a-z 0-9 _ -")
    if not ESTIMATED.fullmatch(str(config.get("NEM12_ESTIMATED_QUALITY") or "")):
        raise error("NEM12_ESTIMATED_QUALITY", "must be a quality flag E, F or S and a "
                    "two-digit method, such as S17")
    problem = meters_problem(config.get("NEM12_METERS"))
    if problem:
        raise error("NEM12_METERS", problem)
