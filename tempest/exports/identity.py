"""Who a meter is in a NEM12 file: its NMI, and each channel's NMI suffix and register.

From the operator only, never from the meter (docs/exports.md):

1. Tempest's `NEM12_METERS` setting (`{"kili": {"nmi": ..., "suffixes": {"Total": "E1"}}}`),
   checked when Tempest starts (exports/settings.py);
2. defaults: the NMI field carries the serial, and suffixes follow the channel roles: import
   E1, sub-circuits and independent channels E2, E3, ..., export B1, B2, ..., generation G1.

A meter's own config, as its day files carry it (`metadata.config.nmi`, `nem12_suffix`), is not
read: it is the meter's word, and one upload once put a forged 300 record (an NMI with a line
break in it) and another meter's NMI into the export. Whatever resolve() returns is checked
again against the record's own patterns, so no field can end a NEM12 record early.
"""

from __future__ import annotations

from dataclasses import dataclass

from tempest import names
from tempest.exports.market import ExportError
from tempest.exports.settings import NMI, SUFFIX

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


def resolve(serial: str, channels: dict[str, dict], setting: dict | None) -> Identity:
    """The identity of one meter: the operator's setting, else the defaults (see above)."""
    setting = setting or {}
    chosen = {name: suffix for name, suffix in (setting.get("suffixes") or {}).items()
              if name in channels}
    ident = Identity(serial, setting.get("nmi") or serial, suffixes_for(channels, chosen))
    _check(ident)
    return ident


def _check(ident: Identity) -> None:
    """Every field resolve() writes matches its pattern whole (re.fullmatch): an NMI of 10 or 11
    of A-Z 0-9 (or the serial, which names.valid_serial allows no comma or line break), and
    suffixes such as E1 or B1. The setting was checked at start; this holds the writer to it."""
    if not (NMI.fullmatch(ident.nmi) or (ident.nmi == ident.serial
                                         and names.valid_serial(ident.serial))):
        raise ExportError(f"{ident.serial}: {ident.nmi!r} is not an NMI")
    for name, suffix in ident.suffixes.items():
        if not SUFFIX.fullmatch(suffix) or not names.valid_channel(name):
            raise ExportError(f"{ident.serial}: channel {name!r}, suffix {suffix!r}: not "
                              "writable in NEM12")
