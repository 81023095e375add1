"""Tempest's secrets folder (TEMPEST_SECRETS_DIR): the secrets Tempest keeps itself, outside the
data dir.

What lives here: `secret_key` (signs the web UI's session cookie), `agent_keys.json`
(Tempest's copy of each meter agent's key, tempest/fleetconfig/agentkeys.py) and
`dlms_passwords.json` (each DLMS meter's LLS password, tempest/dlms/endpoints.py), beside the env
file the operator writes (TEMPEST_ENV_FILE): one place to guard and to back up apart from the
data dir, which backups copy wholesale, a copy of the store may be handed out from, and the
drop account's group may enter.

Where (settings.layout): TEMPEST_SECRETS_DIR (or SECRETS_DIR in tempest.toml); else the env
file's folder; else `<data-dir>.secrets` beside the data dir, so `tempest serve --data-dir X`
works, without root, wherever X's parent is writable (a laptop, a test, var/local/).

`prepare()` runs at every start (create_app). The folder is made 0700 and each file 0600 on
first use. A folder or file whose group or others have any permission, or a folder inside the
data dir (or holding it), stops Tempest (SettingsError: exit 2 naming TEMPEST_SECRETS_DIR), as
ssh refuses a key others may read: it is never chmod-ed behind the operator's back.

Upgrade: a Tempest from before kept both files in the data dir. Each is moved here once (one
that others may read is refused first, left where it is), and logged: linked into place
(copied, fsynced and linked when the two folders are on different file systems; a link never
replaces a file already there), this folder fsynced, then the old name removed and the data dir
fsynced. A crash in between leaves two names for the same bytes; the next start removes the
data dir's. Two files that differ are refused and both kept, for the operator to choose.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
from pathlib import Path

from core.durable import fsync_dir
from tempest.dlms.endpoints import FILE_NAME as DLMS_PASSWORDS
from tempest.fleetconfig.agentkeys import FILE_NAME as AGENT_KEYS
from tempest.settings import Layout, SettingsError

SESSION_KEY = "secret_key"
FILES = (SESSION_KEY, AGENT_KEYS, DLMS_PASSWORDS)
# What an old Tempest may have left beside those in the data dir: the agent keys' lock, and a
# temporary copy of a secret that a crash mid-write left behind.
_OLD_LOCK = ".agent_keys.lock"
_OLD_TEMPORARY = (".secret_key.*.tmp", ".agent_keys.json.*.tmp")

log = logging.getLogger("tempest.secrets")


def _refuse(reason: str) -> SettingsError:
    return SettingsError("SECRETS_DIR", reason)


def _overlap(a: Path, b: Path) -> bool:
    a, b = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return a == b or a in b.parents or b in a.parents


def prepare(lay: Layout) -> Path:
    """Make and check the secrets folder, move an old Tempest's secrets into it; its path."""
    folder = lay.secrets
    for place in (lay.data_dir, lay.drop, lay.archive, lay.quarantine):
        if _overlap(folder, place):
            raise _refuse(f"{folder} must be outside the data dir and its folders, and hold "
                          f"none of them ({place})")
    _make(folder)
    _private(folder, "700")
    for name in FILES:
        _move_in(lay.data_dir / name, folder / name)
    _clear_old(lay.data_dir)
    for name in FILES:
        _private(folder / name, "600")
    return folder


def _make(folder: Path) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # whatever the umask: Tempest must write here, no one else read
    except FileExistsError:
        pass
    except OSError as exc:
        raise _refuse(f"cannot make {folder} ({exc.strerror}): set TEMPEST_SECRETS_DIR to a "
                      "folder Tempest's account may create, outside the data dir") from exc


def _private(path: Path, chmod: str) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.name in FILES:
            return  # made on first use (or moved meanwhile by another process starting)
        raise _refuse(f"{path} is missing") from None
    except OSError as exc:
        raise _refuse(f"cannot read {path} ({exc.strerror})") from exc
    if chmod == "700" and not stat.S_ISDIR(mode):
        raise _refuse(f"{path} is not a folder")
    if mode & 0o077:
        raise _refuse(f"{path} may be read by others (mode {stat.S_IMODE(mode):04o}): "
                      f"chmod {chmod} it")


def _same(a: Path, b: Path) -> bool:
    return os.path.samefile(a, b) or a.read_bytes() == b.read_bytes()


def _link_in(old: Path, new: Path) -> None:
    """`new` made a name of `old`'s bytes; FileExistsError when `new` is there already."""
    try:
        os.link(old, new)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    # Another file system: a durable copy under a temporary name, then linked into place.
    _link_new(new, old.read_bytes())


def _link_new(path: Path, data: bytes) -> None:
    """`data` as a new 0600 file `path`: written and fsynced under a temporary name, then
    linked into place, so no reader sees it half written and a link never replaces a file
    already there (FileExistsError: the first of two racing writers wins)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _move_in(old: Path, new: Path) -> None:
    if not old.exists():
        return
    _private(old, "600")  # one others may read is the operator's to see, not moved quietly
    try:
        _link_in(old, new)
    except FileExistsError:
        # A move cut short (or finished by another process starting beside this one) leaves the
        # same bytes under both names; anything else is the operator's to settle.
        if not _same(old, new):
            raise _refuse(f"{old} and {new} differ: keep the one Tempest should use in "
                          f"{new.parent} and remove the other (the secrets folder's is the one "
                          "used since the upgrade)") from None
        old.unlink(missing_ok=True)
        fsync_dir(old.parent)
        return
    except OSError as exc:
        raise _refuse(f"cannot move {old} to {new} ({exc.strerror})") from exc
    fsync_dir(new.parent)
    old.unlink(missing_ok=True)
    fsync_dir(old.parent)
    log.warning("moved %s to %s: Tempest's secrets live outside the data dir now (back the "
                "secrets folder up on its own)", old, new)


def _clear_old(data_dir: Path) -> None:
    (data_dir / _OLD_LOCK).unlink(missing_ok=True)
    for pattern in _OLD_TEMPORARY:
        for tmp in data_dir.glob(pattern):
            tmp.unlink(missing_ok=True)
            log.warning("removed %s, a temporary copy of a secret an older Tempest left", tmp)


def session_key(folder: Path) -> str:
    """The web UI's session signing key, made on first use (never a shared "dev" fallback)."""
    path = folder / SESSION_KEY
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_hex(32)
    try:
        _link_new(path, (value + "\n").encode())
    except FileExistsError:
        value = path.read_text().strip()
    fsync_dir(folder)
    return value
