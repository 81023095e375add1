"""Meter agents' keys: what Tempest sends as `x-api-key` to a meter agent's `POST /config`.

Unlike meters' API keys (which Tempest only checks, so it keeps a hash), an agent key must be
sent, so it is kept as written: in `<secrets-dir>/agent_keys.json` (TEMPEST_SECRETS_DIR, outside
the data dir: tempest/secretsdir.py), mode 0600, replaced atomically, and never in the SQLite
store (a copy of the store handed out for analysis carries no secret). No route returns a key
and none is logged: the API and the UI only say whether a meter has one.
"""

from __future__ import annotations

from pathlib import Path

from tempest.secretmap import SecretMap

FILE_NAME = "agent_keys.json"
KEYS = SecretMap(FILE_NAME)
MIN_KEY_LENGTH = 8
MAX_KEY_LENGTH = 512


class BadAgentKey(ValueError):
    pass


def check_key(key) -> str:
    if not isinstance(key, str) or not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH \
            or not key.isprintable():
        raise BadAgentKey(f"an agent key is {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} printable "
                          "characters")
    return key


def set_key(secrets_dir: Path, serial: str, key: str) -> bool:
    """Keep `key` for `serial`. True if it changed."""
    return KEYS.set(secrets_dir, serial, check_key(key))


def remove(secrets_dir: Path, serial: str) -> bool:
    return KEYS.remove(secrets_dir, serial)


def get(secrets_dir: Path, serial: str) -> str | None:
    return KEYS.read(secrets_dir).get(serial)


def serials(secrets_dir: Path) -> set[str]:
    """The meters that have an agent key (the keys themselves stay in the file)."""
    return set(KEYS.read(secrets_dir))
