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
import numpy as np

from core.jsonschemas import Validator, ecma

# Matched whole (fullmatch): `$` would let a label ending in "\n" through.
_TS_OFFSET = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}")
_KWH_MAX = Decimal(100000)
_MEASURE_MIN, _MEASURE_MAX = Decimal(-100), Decimal(1000)  # the schema's bounds
_NUMBER_TYPES = {int, Decimal}
_FLOAT_TYPES = {int, float}
_KWH_MAX_FLOAT = 100000.0  # the same bound: exact in a float, as is any reading near it
_VERDICTS_MAX = 4096
_GOOD_LABELS: set[tuple[str, ...]] = set()  # readings' key lists known to be well-formed
_GOOD_LABELS_MAX = 128  # ~25 kB each at 5 minutes: as many days as the reader's grids


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


def fine_numbers(raw: bytes) -> bool:
    """Whether any number in the file may be written with more than three decimals or with an
    exponent: a "." followed by four digits, or a digit followed by "e" or "E" (found with
    numpy over the bytes: a third of the time of three substring searches, which stumble on
    every "0" of a file full of them). False is certain (no reading then needs its spelling
    checked); True may also come from a string, which only costs the checked path."""
    a = np.frombuffer(raw, np.uint8)
    if len(a) < 2:
        return False
    digit = (a - 48) < 10  # uint8 wraps: only b"0" to b"9" land below 10
    dots = np.flatnonzero(a[:-4] == 46)  # a "." with four bytes after it
    if (digit[dots + 1] & digit[dots + 2] & digit[dots + 3] & digit[dots + 4]).any():
        return True
    exponents = np.flatnonzero((a[1:] | 32) == 101)  # "e" or "E", after the first byte
    return bool(digit[exponents].any())


def readings_ok(doc: dict, shape: str, floats: bool = False) -> bool:
    """The per-reading rules of the current shape's datastreams and quality, checked by hand.
    False means: let jsonschema find and name the fault. `floats`: the readings were decoded
    as floats, all finite (core/dayfile_json.py), rather than as Decimals."""
    if shape != "current":
        return False
    kwh_ok = _kwh_floats_ok if floats else _kwh_ok
    streams = ((doc.get("datastreams"), kwh_ok), (doc.get("quality"), _quality_ok))
    for part, check in streams:
        if not isinstance(part, dict):
            return False
        checked = None  # every channel repeats the same timestamps: check a key set once
        for stream in part.values():
            if not isinstance(stream, dict) or len(stream) > 1500:
                return False
            keys = stream.keys()
            if checked is None or keys != checked:
                if not _labels_ok(keys):
                    return False
                checked = keys
            if not check(list(stream.values())):
                return False
    return _measurement_values_ok(doc.get("measurements", {}))


def _labels_ok(keys) -> bool:
    """Every key a well-formed timestamp with an offset. A day's keys are its grid's labels,
    the same for every meter of a zone on that day: a key list matched once is remembered."""
    labels = tuple(keys)
    if labels in _GOOD_LABELS:
        return True
    if not all(map(_TS_OFFSET.fullmatch, labels)):
        return False
    if len(_GOOD_LABELS) >= _GOOD_LABELS_MAX:
        _GOOD_LABELS.clear()
    _GOOD_LABELS.add(labels)
    return True


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
    if not set(map(type, values)) <= _NUMBER_TYPES:
        return False
    return not values or (min(values) >= 0 and max(values) <= _KWH_MAX)


def _kwh_floats_ok(values: list) -> bool:
    # Only finite floats come from that decode (NaN and Infinity are left to the Decimal one).
    if not set(map(type, values)) <= _FLOAT_TYPES:
        return False
    return not values or (min(values) >= 0 and max(values) <= _KWH_MAX_FLOAT)


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
        by_hand = _BY_HAND.get(name)
        if by_hand is not None and by_hand(value):
            continue  # valid for certain; a doubt goes to jsonschema below
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


# The properties that differ in every file (its serial on a concentrator's many meters, its
# day, its registers) missed the verdict cache every time and cost a jsonschema run each, most of
# what the schema check still cost. Their definitions are simple enough to judge by hand exactly
# as jsonschema does: built from the schema's own definitions (patterns compiled as the
# validator compiles them), and only where a definition has the expected form; a `True` is
# certain, anything else is left to jsonschema, which also names the fault.


def _def_check(ref_schema: dict):
    """A by-hand check of `{"$ref": "#/$defs/<name>"}`, or None if that definition is not one
    of the two simple forms: a string with a pattern (and a pattern it must not match), or a
    number between a minimum and a maximum."""
    ref = ref_schema.get("$ref", "") if set(ref_schema) == {"$ref"} else ""
    if not ref.startswith("#/$defs/"):
        return None
    d = schema()["$defs"].get(ref.removeprefix("#/$defs/"), {})
    if d.get("type") == "string" and set(d) <= {"type", "pattern", "not"} and "pattern" in d:
        if "not" in d and set(d["not"]) != {"pattern"}:
            return None
        yes = ecma(d["pattern"]).search
        no = ecma(d["not"]["pattern"]).search if "not" in d else None
        return lambda v: type(v) is str and yes(v) is not None and (no is None or no(v) is None)
    if d.get("type") == "number" and set(d) == {"type", "minimum", "maximum"}:
        low, high = d["minimum"], d["maximum"]
        # Decimal and int compare exactly; a float (NaN from the JSON constants) is left alone.
        return lambda v: type(v) in _NUMBER_TYPES and low <= v <= high
    return None


def _map_check(prop: dict):
    """A by-hand check of `{"type": "object", "additionalProperties": <a simple $ref>}`."""
    if set(prop) != {"type", "additionalProperties"} or prop["type"] != "object":
        return None
    each = _def_check(prop["additionalProperties"])
    if each is None:
        return None
    return lambda v: type(v) is dict and all(map(each, v.values()))


def _by_hand_checks() -> dict:
    checks = {}
    for name in ("serial", "reading_day", "snapshots", "closing_snapshots"):
        prop = schema()["$defs"]["current"]["properties"].get(name, {})
        check = _def_check(prop) or _map_check(prop)
        if check is not None:
            checks[name] = check
    return checks


_BY_HAND = _by_hand_checks() if _BY_PARTS else {}
