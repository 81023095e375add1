"""A day file's JSON with its readings as floats: the cheap decode behind dayfile_reader.parse.

The reader decodes numbers as `Decimal` so that a reading's spelling can be judged (three
decimals, no exponent) and registers add up exactly. For a 5-minute, 4-channel day that is
over a thousand calls of `Decimal()` from inside the JSON scanner, most of a parse; the C
scanner reads a float without leaving C. Here the top-level object is walked member by member
with the json module's own C scanners: `datastreams` (the readings) with floats, every other
member with Decimals, exactly as a whole-file decode gives them. A float is only trusted where
the caller has made sure no number in the file is spelt finer than a Wh (`fine_numbers`): a
reading of at most three decimals under 100,000 kWh, scaled by 1000 and rounded, is its exact
Wh. NaN and Infinity are refused here, so every float is finite.

Anything unusual (not an object, a syntax error, a constant, nesting too deep) returns None and
the caller decodes the whole file with Decimals, which also names the fault as it always did.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from json.decoder import scanstring

# The members decoded with floats: the readings, the bulk of every file.
FLOAT_MEMBERS = frozenset({"datastreams"})
_WS = re.compile(r"[ \t\n\r]*")  # json's own whitespace


class _Refused(ValueError):
    """NaN, Infinity or -Infinity among the readings: left to the Decimal decode."""


def _refuse_constant(name: str):
    raise _Refused(name)


_DECIMALS = json.JSONDecoder(parse_float=Decimal).scan_once
_FLOATS = json.JSONDecoder(parse_constant=_refuse_constant).scan_once


def decode(text: str) -> dict | None:
    """The top-level object, readings as floats and other numbers as Decimal; None: decode
    the whole text with Decimals instead (also the way to any error's message)."""
    ws = _WS.match
    try:
        i = ws(text, 0).end()
        if text[i:i + 1] != "{":
            return None
        i = ws(text, i + 1).end()
        doc: dict = {}
        if text[i:i + 1] == "}":
            i += 1
        else:
            while True:
                if text[i:i + 1] != '"':
                    return None
                key, i = scanstring(text, i + 1, True)
                i = ws(text, i).end()
                if text[i:i + 1] != ":":
                    return None
                i = ws(text, i + 1).end()
                scan = _FLOATS if key in FLOAT_MEMBERS else _DECIMALS
                doc[key], i = scan(text, i)  # a repeated key: the last wins, as in json.loads
                i = ws(text, i).end()
                sep = text[i:i + 1]
                i = ws(text, i + 1).end()
                if sep == "}":
                    break
                if sep != ",":
                    return None
        if ws(text, i).end() != len(text):
            return None
    except (StopIteration, ValueError, RecursionError):
        return None
    return doc
