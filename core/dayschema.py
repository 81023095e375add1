"""The day file's JSON Schema check, made fast enough for ingest without changing a verdict.

jsonschema, run over every reading, was most of a parse. Three exact shortcuts:

- the current shape's readings (timestamps, kWh values, quality marks) are checked by hand,
  each channel's key set once; any doubt leaves them to jsonschema to find and name;
- the schema then sees the file with its readings maps emptied;
- the current shape is an object of its required properties (and the optional ones), each judged on its own
  (no keyword relates two of them), so a property's verdict is remembered by its value: a
  meter's channels, generator and metadata are the same every day and are judged once.

Errors always come from jsonschema itself, so they name the same field as before. And
`fine_numbers()` tells dayfile when no reading can be spelt finer than a Wh.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources

import jsonschema

from core.jsonschemas import Validator

# Matched whole (fullmatch): `$` would let a label ending in "\n" through.
_TS_OFFSET = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}")
_KWH_MAX = Decimal(100000)
_MEASURE_MIN, _MEASURE_MAX = Decimal(-100), Decimal(1000)  # the schema's bounds
_NUMBER_TYPES = {int, Decimal}
_VERDICTS_MAX = 4096


@lru_cache(maxsize=1)
def schema() -> dict:
    text = resources.files("core.schema").joinpath("day-file.schema.json").read_text()
    return json.loads(text)


@cache
def _validator(definition: str) -> jsonschema.protocols.Validator:
    root = schema()
    sub = {"$ref": f"#/$defs/{definition}", "$defs": root["$defs"]}
    return Validator(sub)  # JSON Schema's own `$`: the very end of the string


@cache
def _part_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for one property of the current shape ($refs still resolve in the root)."""
    return _validator("current").evolve(schema=schema()["$defs"]["current"]["properties"][name])


def _parts_are_independent() -> bool:
    current = schema()["$defs"]["current"]
    return (set(current) <= {"type", "required", "additionalProperties", "properties"}
            and current.get("additionalProperties") is False
            and set(current["required"]) <= set(current["properties"]))


_CURRENT_KEYS = frozenset(schema()["$defs"]["current"]["required"])
# With the optional ones (a sensor meter's `measurements`).
_CURRENT_ALL_KEYS = frozenset(schema()["$defs"]["current"]["properties"])
_BY_PARTS = _parts_are_independent()
_verdicts: dict[tuple[str, str], bool] = {}


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def fine_numbers(raw: bytes) -> bool:
    """Whether any number in the file may be written with more than three decimals or with an
    exponent. With every digit made a 0 (bytes.translate: a table lookup per byte, in C), such
    a number shows as ".0000", "0e" or "0E". False is certain (no reading then needs its
    spelling checked); True may also come from a string, which only costs the checked path."""
    zeroed = raw.translate(_DIGITS_TO_ZERO)
    return b".0000" in zeroed or b"0e" in zeroed or b"0E" in zeroed


def readings_ok(doc: dict, shape: str) -> bool:
    """The per-reading rules of the current shape's datastreams and quality, checked by hand.
    False means: let jsonschema find and name the fault."""
    if shape != "current":
        return False
    streams = ((doc.get("datastreams"), _kwh_ok), (doc.get("quality"), _quality_ok))
    for part, check in streams:
        if not isinstance(part, dict):
            return False
        checked = None  # every channel repeats the same timestamps: check a key set once
        for stream in part.values():
            if not isinstance(stream, dict) or len(stream) > 1500:
                return False
            keys = stream.keys()
            if checked is None or keys != checked:
                if not all(map(_TS_OFFSET.fullmatch, keys)):
                    return False
                checked = keys
            if not check(list(stream.values())):
                return False
    return _measurement_values_ok(doc.get("measurements", {}))


def _measurement_values_ok(part) -> bool:
    """A sensor meter's measurement values, by hand like the readings: the schema then sees
    them emptied (and the verdict cache never keys on a day's worth of them)."""
    if not isinstance(part, dict):
        return False
    for m in part.values():
        values = m.get("values") if isinstance(m, dict) else None
        if not isinstance(values, dict) or len(values) > 1500:
            return False
        if not all(map(_TS_OFFSET.fullmatch, values.keys())):
            return False
        kinds = {type(v) for v in values.values()}
        if not kinds <= _NUMBER_TYPES or (values and (min(values.values()) < _MEASURE_MIN
                                                       or max(values.values()) > _MEASURE_MAX)):
            return False
    return True


def _kwh_ok(values: list) -> bool:
    # type(), not isinstance: True is an int, and never a reading.
    if not {type(v) for v in values} <= _NUMBER_TYPES:
        return False
    return not values or (min(values) >= 0 and max(values) <= _KWH_MAX)


def _quality_ok(values: list) -> bool:
    return all(v in ("estimated", "missing") for v in values)


def first_error(doc: dict, shape: str, readings_checked: bool) -> tuple[str, list] | None:
    """(message, path) of the first schema fault, or None. `readings_checked`: readings_ok()
    passed, so the readings maps need not be looked at again."""
    if readings_checked:
        doc = dict(doc)
        doc["datastreams"] = {k: {} for k in doc["datastreams"]}
        doc["quality"] = {k: {} for k in doc["quality"]}
        if isinstance(doc.get("measurements"), dict):
            doc["measurements"] = {k: {**m, "values": {}}
                                   for k, m in doc["measurements"].items()}
        if _BY_PARTS and _valid_by_parts(doc):
            return None
    errors = sorted(_validator(shape).iter_errors(doc),
                    key=lambda e: (len(e.absolute_path), str(e.path)))
    if not errors:
        return None
    return errors[0].message, list(errors[0].absolute_path)


def _valid_by_parts(doc: dict) -> bool:
    """The current shape's verdict from its properties' verdicts, each remembered by the
    property's value (repr tells Decimal('1') from 1 from '1', and True from 1)."""
    if not _CURRENT_KEYS <= doc.keys() <= _CURRENT_ALL_KEYS:
        return False
    for name, value in doc.items():
        key = (name, repr(value))
        verdict = _verdicts.get(key)
        if verdict is None:
            verdict = _part_validator(name).is_valid(value)
            if len(_verdicts) >= _VERDICTS_MAX:
                _verdicts.clear()
            _verdicts[key] = verdict
        if not verdict:
            return False
    return True
