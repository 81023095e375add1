"""Concentrators as the API and the CLI show them: never their keys."""

from __future__ import annotations

import sqlite3

from tempest.isotime import iso


def _as_dict(row) -> dict:
    return {"id": row["id"], "key": "active" if row["key_hash"] is not None else "revoked",
            "meters": row["meters"], "created_at": iso(row["created_at"]),
            "last_seen": iso(row["last_seen"])}


_SELECT = ("SELECT c.id, c.key_hash, c.created_at, c.last_seen, "
           "(SELECT count(*) FROM concentrator_meters m WHERE m.concentrator = c.id) AS meters "
           "FROM concentrators c")


def every(conn: sqlite3.Connection) -> list[dict]:
    return [_as_dict(r) for r in conn.execute(_SELECT + " ORDER BY c.id")]


def one(conn: sqlite3.Connection, cid: str) -> dict | None:
    row = conn.execute(_SELECT + " WHERE c.id = ?", (cid,)).fetchone()
    return None if row is None else _as_dict(row)


def serials(conn: sqlite3.Connection, cid: str) -> list[str]:
    return [r["serial"] for r in conn.execute(
        "SELECT serial FROM concentrator_meters WHERE concentrator = ? ORDER BY serial",
        (cid,))]
