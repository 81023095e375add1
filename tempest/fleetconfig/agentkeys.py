"""Meter agents' keys: what Tempest sends as `x-api-key` to a meter agent's `POST /config`.

Unlike meters' API keys (which Tempest only checks, so it keeps a hash), an agent key must be
sent, so it is kept as written: in `<secrets-dir>/agent_keys.json` (TEMPEST_SECRETS_DIR, outside
the data dir: tempest/secretsdir.py), mode 0600, replaced atomically, and never in the SQLite
store (a copy of the store handed out for analysis carries no secret). No route returns a key
and none is logged: the API and the UI only say whether a meter has one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

FILE_NAME = "agent_keys.json"
MIN_KEY_LENGTH = 8
MAX_KEY_LENGTH = 512


class BadAgentKey(ValueError):
    pass


def _path(secrets_dir: Path) -> Path:
    return Path(secrets_dir) / FILE_NAME


def _read(path: Path) -> dict[str, str]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        return {}
    return {k: v for k, v in doc.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(doc, dict) else {}


@contextlib.contextmanager
def _locked(secrets_dir: Path):
    """One writer at a time across processes (gunicorn workers share the secrets folder)."""
    Path(secrets_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(Path(secrets_dir) / ".agent_keys.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, keys: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def check_key(key) -> str:
    if not isinstance(key, str) or not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH \
            or not key.isprintable():
        raise BadAgentKey(f"an agent key is {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} printable "
                          "characters")
    return key


def set_key(secrets_dir: Path, serial: str, key: str) -> bool:
    """Keep `key` for `serial`. True if it changed."""
    check_key(key)
    path = _path(secrets_dir)
    with _locked(secrets_dir):
        keys = _read(path)
        if keys.get(serial) == key:
            return False
        keys[serial] = key
        _write(path, keys)
    return True


def remove(secrets_dir: Path, serial: str) -> bool:
    path = _path(secrets_dir)
    with _locked(secrets_dir):
        keys = _read(path)
        if serial not in keys:
            return False
        del keys[serial]
        _write(path, keys)
    return True


def get(secrets_dir: Path, serial: str) -> str | None:
    return _read(_path(secrets_dir)).get(serial)


def serials(secrets_dir: Path) -> set[str]:
    """The meters that have an agent key (the keys themselves stay in the file)."""
    return set(_read(_path(secrets_dir)))
