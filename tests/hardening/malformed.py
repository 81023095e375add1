"""Hypothesis strategies for hostile input: day files, heartbeats and meter configs that are
broken in many small ways (a value of the wrong type, a field gone, a key renamed, a number
out of range, a timestamp off the grid, truncated or corrupted bytes) or not JSON at all.

Mutations start from real, valid documents, so most inputs get deep into the checks before
they fail: random bytes alone would never pass the JSON parser.
"""

from __future__ import annotations

import copy
import json

from hypothesis import strategies as st

HOSTILE_TEXT = ["", " ", "..", "../../etc/passwd", "a/b", "a\\b", "x\x00y", "\x00", "é" * 70,
                "k" * 5000, "日本語", "\ud800", "<script>alert(1)</script>", "'; DROP TABLE days;--",
                "%2e%2e%2f", "${jndi:ldap://x}", "\n", "NaN", "-1", "1e999", "0x10"]

json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(HOSTILE_TEXT)
                | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=12)


def _paths(doc, prefix=(), limit: int = 6) -> list[tuple]:
    """Paths to values in a JSON document (a few children per container, to stay cheap)."""
    out = [prefix]
    if isinstance(doc, dict):
        for k in list(doc)[:limit]:
            out += _paths(doc[k], (*prefix, k), limit)
    elif isinstance(doc, list):
        for i in range(min(len(doc), limit)):
            out += _paths(doc[i], (*prefix, i), limit)
    return out


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


@st.composite
def mutated(draw, docs: list[dict], max_mutations: int = 3) -> dict | list | object:
    """A copy of one of `docs` with 1..max_mutations structural mutations."""
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return draw(json_values)
        path = draw(st.sampled_from(paths))
        parent = _get(doc, path[:-1])
        key = path[-1]
        kind = draw(st.sampled_from(["replace", "delete", "insert", "rename", "number"]))
        if kind == "replace":
            parent[key] = draw(json_values)
        elif kind == "delete":
            del parent[key]
        elif kind == "insert" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12) | st.sampled_from(HOSTILE_TEXT))] = draw(json_values)
        elif kind == "rename" and isinstance(parent, dict):
            value = parent.pop(key)
            parent[draw(_renamed(str(key)))] = value
        elif kind == "number":
            parent[key] = draw(st.sampled_from([-0.001, -1, 0.0001, 1e6, 100000.001, 2**63,
                                                1.2345, True, "0.041", None, [], {}]))
    return doc


def _renamed(key: str):
    """A key changed the ways a broken meter or an attacker would change it."""
    return st.sampled_from([
        key + "x", key.upper(), key[:-1], key.replace(":00+", ":01+"),
        key.replace("+", "-"), key.replace("T", " "), key[:10], key + "Z",
        key.replace(":00:00", ":07:00"), key.replace("2024", "2023"), *HOSTILE_TEXT[:8]])


@st.composite
def as_bytes(draw, docs) -> bytes:
    """JSON text of a mutated document, sometimes corrupted at the byte level too."""
    doc = draw(mutated(docs))
    data = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    how = draw(st.sampled_from(["as is", "as is", "truncate", "flip", "insert", "wrap"]))
    if how == "truncate" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    elif how == "insert":
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    elif how == "wrap":
        data = b"[" + data + b"]"
    return data


def garbage() -> st.SearchStrategy[bytes]:
    """Not a day file at all: random bytes, random JSON, deep nesting, odd encodings."""
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n),
        st.sampled_from([b"", b"null", b"{}", b"[]", b'"x"', b"NaN", b"{\"a\": Infinity}",
                         "{}".encode("utf-16"), b"\xef\xbb\xbf{}", b"{\"serial\": \"kili\"}" * 2]),
    )
