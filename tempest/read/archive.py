"""A stored day's archived file, byte for byte, for the routes that serve it (`/payload`,
`/api/v1/meters/<serial>/days/<day>/file`), with one exception: a secret in it is masked.

The seed's meters wrote their whole config into every day file's `metadata.config`, their API
key included, and those routes are public (as the seed's were). The archive keeps the file as
received; what is served has every secret field's value replaced by `***`, in place, so every
other byte is the one delivered. Meters' own files never carry one (core.configdoc).

The archive holds regular files Tempest wrote itself. Anything else found under an archive
name (a symbolic link, left by an older version that hard-linked a link swapped into the drop
folder, or put there by hand; a FIFO; a folder) is refused and logged, never followed: a link
could point at any file Tempest's account can read, its own config and admin token included.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from pathlib import Path

from core import masking
from tempest.ingest import dropbox
from tempest.read import days

log = logging.getLogger("tempest.web")


class NotArchived(LookupError):
    """The stored version's file cannot be served; the message says why."""


class NotArchivedYet(NotArchived):
    """The day was stored a moment ago and its archive copy is still being made: ask again
    in a second (503 with Retry-After, not 404)."""


# The archive copy is made just after the commit that makes a day visible, behind the ingest
# worker (ingest/mover.py), a few milliseconds later as a rule, seconds on a loaded disk. A
# client that reads a day and then its file must not see it missing in that gap: a file stored
# this recently is waited for (briefly), one older and missing is gone (pruned, or by hand).
JUST_STORED_S = 30.0
WAIT_FOR_COPY_S = 2.0


def stored_file(conn: sqlite3.Connection, data_dir: Path, day_row) -> bytes:
    """The bytes of the file a `days` row's stored version came from."""
    found = conn.execute("SELECT path, ingested_at FROM files WHERE id = ?",
                        (day_row["file_id"],)).fetchone()
    if found is None or not found["path"]:
        raise NotArchived("the stored file is not archived yet")
    path = data_dir / found["path"]
    # Wall-clock time, as ingest records ingested_at (never an injected clock).
    just_stored = time.time() - float(found["ingested_at"]) < JUST_STORED_S
    deadline = time.monotonic() + (WAIT_FOR_COPY_S if just_stored else 0.0)
    while True:
        try:
            f, _ = dropbox.open_regular(path)
            break
        except FileNotFoundError as exc:
            if time.monotonic() >= deadline:
                if just_stored:
                    raise NotArchivedYet("the day was stored a moment ago and its archive "
                                         "copy is still being made; ask again") from exc
                raise NotArchived("the stored file is not in the archive any more") from exc
            time.sleep(0.02)
        except OSError as exc:  # ELOOP for a link, NotRegular, EACCES...
            log.error("refusing to serve %s: %s", path, exc)
            raise NotArchived("the stored file's archive entry is not a regular file Tempest "
                              "wrote; it is not served (see the server's log)") from exc
    with f:
        return without_secrets(f.read())


# A key whose name makes it secret (core.masking), as it appears in JSON: a cheap test that
# spares almost every file a parse.
_SECRET_KEY = re.compile(rb'(?i)(key|token|password|passphrase|secret)"\s*:')


def without_secrets(data: bytes) -> bytes:
    """`data` with the value of every secret field of its metadata.config replaced by "***"
    where that field is written, every other byte kept; `data` itself when it has none."""
    if not _SECRET_KEY.search(data):
        return data
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    config = meta.get("config") if isinstance(meta, dict) else None
    fields = list(_secret_fields(config)) if isinstance(config, dict) else []
    if not fields:
        return data
    text = data.decode("utf-8")
    for name, value in fields:
        field = re.escape(json.dumps(name)) + r"(\s*:\s*)" + re.escape(json.dumps(value))
        text = re.sub(field, lambda m, n=name: json.dumps(n) + m.group(1) + '"***"', text)
    return text.encode("utf-8")


def _secret_fields(node):
    """(name, value) of every secret-named field (core.masking) holding a plain value."""
    for name, value in node.items():
        if isinstance(value, dict):
            yield from _secret_fields(value)
        elif masking.is_secret_name(name) and isinstance(value, str | int | float):
            yield name, value


def reported_config(conn: sqlite3.Connection, data_dir: Path,
                    serial: str) -> tuple[dict | None, str | None]:
    """metadata.config of the meter's latest stored day (what shapes its readings), and the
    day; (None, day) when its file is gone or carries no config, (None, None) with no day.
    A secret a seed meter's config carried is shown as "***" (as without_secrets())."""
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
    return (_masked(cfg) if isinstance(cfg, dict) else None), row["reading_day"]


def _masked(node: dict) -> dict:
    return {k: _masked(v) if isinstance(v, dict)
            else "***" if masking.is_secret_name(k) and isinstance(v, str | int | float) else v
            for k, v in node.items()}
