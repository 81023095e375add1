"""The DLMS meters in Tempest's registry: each meter's endpoint (host, port) in the store's
`dlms_meters`, its LLS password in the secrets folder, and what the last collection read.

The password must be sent, so it is kept as written, like an agent key
(tempest/fleetconfig/agentkeys.py): in `<secrets-dir>/dlms_passwords.json` (TEMPEST_SECRETS_DIR,
outside the data dir), mode 0600, replaced atomically, never in the store, never returned by a
route nor logged: the API and the UI only say whether a meter has one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tempest import db
from tempest.isotime import iso
from tempest.secretmap import SecretMap

if TYPE_CHECKING:
    from tempest.dlms.collect import Endpoint

FILE_NAME = "dlms_passwords.json"
PASSWORDS = SecretMap(FILE_NAME)


class BadEndpoint(ValueError):
    pass


def check_password(password: str) -> str:
    # What the meter accepts (docs/dlms.md): 1 to 32 printable ASCII characters.
    if not 1 <= len(password) <= 32 or not all(" " <= ch <= "~" for ch in password):
        raise BadEndpoint("a DLMS password is 1 to 32 printable ASCII characters")
    return password


def check_endpoint(host: str, port: int, password: str) -> None:
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise BadEndpoint("the port is 1 to 65535")
    if (not isinstance(host, str) or not host or len(host) > 253 or not host.isprintable()
            or " " in host):
        raise BadEndpoint("the host is a name or an address")
    if not isinstance(password, str):
        raise BadEndpoint("a DLMS password is 1 to 32 printable ASCII characters")
    check_password(password)


def register(conn, secrets_dir: Path, serial: str, host: str, port: int, password: str,
             now: float) -> None:
    """Give a registered meter its DLMS endpoint (again: the new host, port and password)."""
    register_many(conn, secrets_dir, [(serial, host, port, password)], now)


def register_many(conn, secrets_dir: Path, items: list[tuple[str, str, int, str]],
                  now: float, zones: dict[str, str] | None = None) -> set[str]:
    """(serial, host, port, password) of many meters, and each one's time zone in `zones`
    (optional), in one secrets write and one transaction (a bulk host's thousand meters, the
    deploy's batch: `tempest meters dlms --from`). Every item is checked before anything is
    written; only what differs from what Tempest holds is written. The serials that changed."""
    zones = zones or {}
    for _serial, host, port, password in items:
        check_endpoint(host, port, password)
    held = PASSWORDS.read(secrets_dir)
    changed = {serial for serial, _, _, password in items if held.get(serial) != password}
    with db.transaction(conn):
        for serial, host, port, _ in items:
            row = conn.execute("SELECT host, port FROM dlms_meters WHERE serial = ?",
                               (serial,)).fetchone()
            if row is None or (row["host"], int(row["port"])) != (host, port):
                changed.add(serial)
                conn.execute(
                    "INSERT INTO dlms_meters (serial, host, port, registered_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (serial) DO UPDATE SET "
                    "host = excluded.host, port = excluded.port", (serial, host, port, now))
            zone = zones.get(serial)
            meter = conn.execute("SELECT timezone FROM meters WHERE serial = ?",
                                 (serial,)).fetchone()
            if zone is not None and meter is not None and meter["timezone"] != zone:
                changed.add(serial)
                conn.execute("UPDATE meters SET timezone = ? WHERE serial = ?", (zone, serial))
        # Last, inside the transaction: if the passwords' file cannot be written, nothing is.
        fresh = {serial: password for serial, _, _, password in items
                 if held.get(serial) != password}
        if fresh:
            PASSWORDS.update(secrets_dir, fresh)
    return changed


def every(conn, secrets_dir: Path, serials=()) -> tuple[list[Endpoint], list[str]]:
    """The endpoints to collect (only `serials` if given), and the serials that cannot be
    collected for lack of a password or a time zone (a message each)."""
    from tempest.dlms.collect import Endpoint  # the DLMS client: only where Tempest dials

    rows = conn.execute("SELECT d.serial, d.host, d.port, m.timezone FROM dlms_meters d "
                        "JOIN meters m ON m.serial = d.serial ORDER BY d.serial").fetchall()
    passwords = PASSWORDS.read(secrets_dir)
    out, problems = [], []
    for r in rows:
        if serials and r["serial"] not in serials:
            continue
        if r["serial"] not in passwords:
            problems.append(f"{r['serial']}: no DLMS password in the secrets folder")
        elif not r["timezone"]:
            problems.append(f"{r['serial']}: no time zone (tempest meters add --timezone)")
        else:
            out.append(Endpoint(r["serial"], r["host"], int(r["port"]), passwords[r["serial"]],
                                r["timezone"]))
    return out, problems


def record(conn, serial: str, now: float, skew_s: float | None = None,
           error: str | None = None) -> None:
    """What a collection read from the meter: its clock skew, or the error it met."""
    with db.transaction(conn):
        if error is None:
            conn.execute("UPDATE dlms_meters SET clock_skew_s = ?, skew_at = ?, collected_at = ?, "
                         "last_error = NULL WHERE serial = ?", (skew_s, now, now, serial))
        else:
            conn.execute("UPDATE dlms_meters SET last_error = ? WHERE serial = ?",
                         (error[:500], serial))


def shown(conn, secrets_dir: Path, serial: str) -> dict | None:
    """A meter's DLMS endpoint as the API and UI show it (never the password)."""
    r = conn.execute("SELECT host, port, clock_skew_s, skew_at, collected_at, last_error "
                     "FROM dlms_meters WHERE serial = ?", (serial,)).fetchone()
    if r is None:
        return None
    return {"host": r["host"], "port": r["port"],
            "password": serial in PASSWORDS.read(secrets_dir),
            "clock_skew_s": None if r["clock_skew_s"] is None else round(r["clock_skew_s"], 1),
            "clock_read_at": iso(r["skew_at"]), "collected_at": iso(r["collected_at"]),
            "last_error": r["last_error"]}
