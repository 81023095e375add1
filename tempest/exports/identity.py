"""Who a meter is in a NEM12 file: its NMI, and each channel's NMI suffix and register.

Three sources, the first that says something wins (docs/exports.md):

1. Tempest's `NEM12_METERS` setting (`{"kili": {"nmi": ..., "suffixes": {"Total": "E1"}}}`):
   the operator's word, for meters whose config cannot be changed;
2. the meter's own config as its newest stored day file carries it (`metadata.config`):
   `nmi`, and `nem12_suffix` on a channel in the list form of `channels`;
3. defaults: the NMI field carries the serial, and suffixes follow the channel roles: import
   E1, sub-circuits and independent channels E2, E3, ..., export B1, B2, ..., generation G1.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("tempest.exports")

_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_FAMILY = {"import": "E", "sub": "E", "independent": "E", "export": "B", "generation": "G"}


@dataclass(frozen=True)
class Identity:
    serial: str
    nmi: str
    suffixes: dict[str, str]  # channel -> NMI suffix, in channel order

    @property
    def configuration(self) -> str:
        """NMIConfiguration: every suffix of the NMI, concatenated."""
        return "".join(self.suffixes.values())


def _role(name: str, info: dict) -> str:
    role = info.get("role")
    if role is None:  # seed-era days: Total is the revenue register
        role = "import" if name == "Total" else "sub"
    return role


def _family(name: str, info: dict) -> str:
    return _FAMILY.get(_role(name, info), "E")


def suffixes_for(channels: dict[str, dict], chosen: dict[str, str]) -> dict[str, str]:
    """Suffixes for every channel: `chosen` ones as given, the rest by role, never reusing one.
    Import channels are numbered first, so the revenue register is E1 wherever it is listed."""
    used = set(chosen.values())
    out: dict[str, str] = {}

    def first_free(family: str) -> str:
        for d in _DIGITS:
            if family + d not in used:
                used.add(family + d)
                return family + d
        raise ValueError(f"no free NEM12 suffix left in family {family}")

    imports = [n for n, i in channels.items() if _role(n, i) == "import"]
    for name in imports + [n for n in channels if n not in imports]:
        out[name] = chosen.get(name) or first_free(_family(name, channels[name]))
    return {name: out[name] for name in channels}


def file_config(conn: sqlite3.Connection, data_dir: Path, file_id: str) -> dict:
    """The meter config a stored day's file carries (`metadata.config`), or {}."""
    row = conn.execute("SELECT path FROM files WHERE id = ?", (file_id,)).fetchone()
    if row is None or not row[0]:
        return {}
    try:
        doc = json.loads((data_dir / row[0]).read_bytes())
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s for its NEM12 identity: %s", row[0], exc)
        return {}
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    config = meta.get("config") if isinstance(meta, dict) else None
    return config if isinstance(config, dict) else {}


def resolve(serial: str, channels: dict[str, dict], setting: dict | None,
            config: dict) -> Identity:
    """The identity of one meter from the three sources (see the module's docstring)."""
    setting = setting or {}
    chosen: dict[str, str] = {}
    listed = config.get("channels")
    if isinstance(listed, list):
        for ch in listed:
            if isinstance(ch, dict) and ch.get("name") in channels and ch.get("nem12_suffix"):
                chosen[ch["name"]] = ch["nem12_suffix"]
    for name, suffix in (setting.get("suffixes") or {}).items():
        if name in channels:
            # The setting wins: drop a file-given suffix another channel would then share.
            chosen = {k: v for k, v in chosen.items() if v != suffix}
            chosen[name] = suffix
    nmi = setting.get("nmi") or config.get("nmi") or serial
    return Identity(serial, str(nmi), suffixes_for(channels, chosen))
