"""A stored day's archived file, byte for byte, for the routes that serve it (`/payload`,
`/api/v1/meters/<serial>/days/<day>/file`).

The archive holds regular files Tempest wrote itself. Anything else found under an archive
name (a symbolic link, left by an older version that hard-linked a link swapped into the drop
folder, or put there by hand; a FIFO; a folder) is refused and logged, never followed: a link
could point at any file Tempest's account can read, its own config and admin token included.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

from tempest.ingest import dropbox
from tempest.read import days

log = logging.getLogger("tempest.web")


class NotArchived(LookupError):
    """The stored version's file cannot be served; the message says why."""


def stored_file(conn: sqlite3.Connection, data_dir: Path, day_row) -> bytes:
    """The bytes of the file a `days` row's stored version came from."""
    found = conn.execute("SELECT path FROM files WHERE id = ?", (day_row["file_id"],)).fetchone()
    if found is None or not found["path"]:
        raise NotArchived("the stored file is not archived yet")
    path = data_dir / found["path"]
    try:
        f, _ = dropbox.open_regular(path)
    except FileNotFoundError as exc:
        raise NotArchived("the stored file is not in the archive (yet, or any more)") from exc
    except OSError as exc:  # ELOOP for a link, NotRegular, EACCES...
        log.error("refusing to serve %s: %s", path, exc)
        raise NotArchived("the stored file's archive entry is not a regular file Tempest "
                          "wrote; it is not served (see the server's log)") from exc
    with f:
        return f.read()


def reported_config(conn: sqlite3.Connection, data_dir: Path,
                    serial: str) -> tuple[dict | None, str | None]:
    """metadata.config of the meter's latest stored day (what shapes its readings), and the
    day; (None, day) when its file is gone or carries no config, (None, None) with no day."""
    row = days.latest_file(conn, serial)
    if row is None or not row["path"]:
        return None, None
    try:
        # Never through a link, as stored_file(): the archive is Tempest's, a link in it is not.
        f, _ = dropbox.open_regular(data_dir / row["path"])
        with f:
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return None, row["reading_day"]
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    cfg = meta.get("config") if isinstance(meta, dict) else None
    return (cfg if isinstance(cfg, dict) else None), row["reading_day"]
