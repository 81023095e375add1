r"""A JSON Schema validator whose `pattern` means what JSON Schema says it means.

JSON Schema patterns are ECMA 262 regular expressions, where `$` (no multiline flag) matches
only at the very end of the string. jsonschema runs them with Python's `re.search`, where `$`
also matches before a final newline: "^[A-Za-z0-9]...$" let the serial "A\n" through, and
such a serial was issued a key, archived under `archive/A\n/` and split log lines and export
rows. The schema files keep the portable `^...$` (other languages read them too); here each
`$` outside a character class is compiled as Python's `\Z`, the end of the string.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jsonschema
from jsonschema.exceptions import ValidationError


@lru_cache(maxsize=256)
def ecma(pattern: str) -> re.Pattern:
    """A JSON Schema pattern compiled with ECMA 262's `$` (the end of the string)."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":  # an escape, `\$` included, stays as it is
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return re.compile("".join(out))


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 (the schemas' own $schema) with that one keyword replaced.
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                         validators={"pattern": _pattern})
