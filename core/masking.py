"""Secret values never appear in a rendered error: the one masking function every place that
shows a config's validation error uses (the meter's checker, the agent's answer, Tempest's push
answers, push log and UI, the `meter` CLI, and so Ansible's message).

A field is secret by its name: `tempest_api_key`, `agent.key`, `delivery.ssh_key`, a Pico's
Wi-Fi password, and any `*key`, `*token`, `*password`, `*passphrase` or `*secret` a config may
carry. Its value is replaced by MASK wherever it appears in a message, in every spelling an
error may print it (as written, as Python's repr, as JSON), including pieces of it, since a
message may be cut short.
"""

from __future__ import annotations

import json
import re

MASK = "***"
_SECRET_NAME = re.compile(r"(key|token|password|passphrase|secret)$", re.I)
# A piece of a secret this long, at the end of a cut-short message, is masked too.
_MIN_PIECE = 6
# Shorter values are not secrets worth the name, and masking them would garble everything
# else in a message ("5" in "interval_min 5"); their errors are worded without the value anyway.
_MIN_VALUE = 4


def is_secret_name(name) -> bool:
    return isinstance(name, str) and bool(_SECRET_NAME.search(name))


def is_secret_path(path) -> bool:
    """A dotted path or a list of path parts (a JSON Schema error's) that ends in, or goes
    through, a secret field."""
    parts = path.split(".") if isinstance(path, str) else list(path)
    return any(is_secret_name(p) for p in parts)


def _spellings(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_spellings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_spellings(v) for v in value)) if value else set()
    if value is None or isinstance(value, bool) or value == "":
        return set()
    out = {str(value), repr(value), json.dumps(value)}
    if isinstance(value, str):
        out |= {repr(value)[1:-1], json.dumps(value)[1:-1]}
    return out


def secret_values(*docs) -> list[str]:
    """Every spelling of every secret field's value in `docs` (configs, request bodies), the
    longest first."""
    found: set[str] = set()

    def walk(node, secret: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, secret or is_secret_name(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, secret)
        elif secret:
            found.update(_spellings(node))

    for doc in docs:
        walk(doc, False)
    return sorted((v for v in found if len(v) >= _MIN_VALUE), key=len, reverse=True)


def mask(text, *docs):
    """`text` with the values of the secret fields of `docs` masked (and a trailing piece of
    one, where the text was cut short). Non-text is returned as it is."""
    if not isinstance(text, str):
        return text
    for value in secret_values(*docs):
        text = text.replace(value, MASK)
        # A message cut short ends with the start of a secret (and perhaps "...").
        tail = "..." if text.endswith("...") else ""
        core = text[:len(text) - len(tail)]
        for n in range(min(len(value) - 1, len(core)), _MIN_PIECE - 1, -1):
            if core.endswith(value[:n]):
                text = core[:-n] + MASK + tail
                break
    return text


def mask_doc(doc, *docs):
    """A JSON document (an agent's answer) with `mask` applied to every string in it."""
    if isinstance(doc, dict):
        return {k: mask_doc(v, *docs) for k, v in doc.items()}
    if isinstance(doc, list):
        return [mask_doc(v, *docs) for v in doc]
    return mask(doc, *docs)
