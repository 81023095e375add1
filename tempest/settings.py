"""Tempest's settings: defaults, then a TOML config file, then the env file TEMPEST_ENV_FILE
names (secrets), then `TEMPEST_*` environment variables.

Every setting is documented in docs/operations.md (a test checks that). Paths default to folders
under the data dir, so `--data-dir` alone is enough on a laptop; the secrets folder, never
inside it, defaults to the env file's folder or one beside the data dir (tempest/secretsdir.py).
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tempest.concentrators import settings as _concentrators
from tempest.exports import settings as _exports
from tempest.fleetconfig import settings as _agents
from tempest.quotas import settings as _quotas
from tempest.sinks import settings as _sinks

DEFAULT_DATA_DIR = "./var/tempest"

# Name -> default. Paths left as None are derived from DATA_DIR by `layout()`.
DEFAULTS: dict[str, object] = {
    "DATA_DIR": DEFAULT_DATA_DIR,
    "DATABASE": None,  # <data-dir>/tempest.sqlite3
    # postgresql://user:password@host:port/db puts the store on PostgreSQL instead of DATABASE.
    "DATABASE_URL": None,
    "DROP_DIR": None,  # <data-dir>/drop
    "ARCHIVE_DIR": None,  # <data-dir>/archive
    "QUARANTINE_DIR": None,  # <data-dir>/quarantine
    "ADMIN_TOKEN": None,  # admin endpoints answer 403 until one is set
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # request bodies and dropped files, bytes
    "ONLINE_SECONDS": 180,
    "STALE_SECONDS": 3600,
    "LEGACY_TIMEZONE": "UTC",  # seed files with naive times, for meters with no zone set
    "RESCAN_SECONDS": 30.0,  # periodic drop-folder scan (watchdog events can be lost)
    "SETTLE_SECONDS": 2.0,  # a scan only takes files this long unchanged (non-atomic writers)
    "INGEST_BATCH": 64,  # files per store transaction
    # While files stream in (over 40 a second), wait this long for a batch to fill
    # (tempest/ingest/pace.py); 0: store whatever is queued at once.
    "INGEST_GATHER_SECONDS": 0.05,
    "INGEST_PROCESSES": 1,  # >1: parse a batch in that many processes (CPU-bound backlogs)
    "HEARTBEAT_RETENTION_DAYS": 7,
    # >0: a web process writes the heartbeats it answered in one transaction this often
    # (tempest/web/beatbuffer.py); 0: each in its own request.
    "HEARTBEAT_FLUSH_SECONDS": 0.0,
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 1000,
    "SECRET_KEY": None,  # generated once and kept in <secrets-dir>/secret_key
    # Secrets Tempest keeps itself (secret_key, agent_keys.json), outside the data dir. None:
    # the env file's folder when TEMPEST_ENV_FILE is set, else <data-dir>.secrets beside it.
    "SECRETS_DIR": None,
    # Reverse proxies in front whose X-Forwarded-For/-Proto to believe; 0 believes none.
    "TRUSTED_PROXIES": 0,
}

CONFIG_FILE_NAME = "tempest.toml"

# Settings that are text: taken from the environment as written (from_prefixed_env would read
# a token such as "123" or "null" as JSON).
TEXT = ("DATA_DIR", "DATABASE", "DATABASE_URL", "DROP_DIR", "ARCHIVE_DIR", "QUARANTINE_DIR", "ADMIN_TOKEN",
        "LEGACY_TIMEZONE", "SECRET_KEY", "SECRETS_DIR")
# Numeric settings: (type, smallest allowed, largest allowed).
NUMBERS = {
    "MAX_CONTENT_LENGTH": (int, 1024, 1 << 30),
    "ONLINE_SECONDS": (float, 1, 10 * 365 * 86400),
    "STALE_SECONDS": (float, 1, 10 * 365 * 86400),
    "RESCAN_SECONDS": (float, 0.1, 86400),
    "SETTLE_SECONDS": (float, 0, 3600),
    "INGEST_BATCH": (int, 1, 10_000),
    "INGEST_PROCESSES": (int, 1, 256),
    "INGEST_GATHER_SECONDS": (float, 0, 5),
    "HEARTBEAT_RETENTION_DAYS": (float, 0.01, 36500),
    "HEARTBEAT_FLUSH_SECONDS": (float, 0, 10),
    "PAGE_SIZE": (int, 1, 100_000),
    "MAX_PAGE_SIZE": (int, 1, 100_000),
    "TRUSTED_PROXIES": (int, 0, 10),
}
MIN_ADMIN_TOKEN = 16

# The sinks', exports', agent calls' and quotas' settings live beside their code
# (docs/sinks.md, docs/exports.md, docs/operations.md).
_PARTS = (_sinks, _exports, _agents, _quotas, _concentrators)
for _part in _PARTS:
    DEFAULTS.update(_part.DEFAULTS)
    TEXT += _part.TEXT
    NUMBERS.update(_part.NUMBERS)


class SettingsError(ValueError):
    """A setting Tempest cannot run with; `name` is its environment variable."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"TEMPEST_{name}: {reason}")
        self.name = f"TEMPEST_{name}"
        self.reason = reason


def text_from_env(config, environ=os.environ) -> None:
    for name in TEXT:
        value = environ.get(f"TEMPEST_{name}")
        if value is not None:
            config[name] = value


def check(config) -> None:
    """Refuse to start on a setting that would fail later (SettingsError names it)."""
    from core import tzdb

    for name, (kind, low, high) in NUMBERS.items():
        value = config.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(name, f"must be a number, not {value!r}")
        if kind is int and value != int(value):
            raise SettingsError(name, "must be a whole number")
        if not low <= value <= high:
            raise SettingsError(name, f"must be between {low} and {high}")
    if config["STALE_SECONDS"] < config["ONLINE_SECONDS"]:
        raise SettingsError("STALE_SECONDS", "must not be less than TEMPEST_ONLINE_SECONDS")
    if config["PAGE_SIZE"] > config["MAX_PAGE_SIZE"]:
        raise SettingsError("PAGE_SIZE", "must not be more than TEMPEST_MAX_PAGE_SIZE")
    if not tzdb.valid_zone(str(config["LEGACY_TIMEZONE"])):
        raise SettingsError("LEGACY_TIMEZONE", "must be an IANA time zone such as UTC")
    token = config.get("ADMIN_TOKEN")
    if token is not None and (not isinstance(token, str) or len(token) < MIN_ADMIN_TOKEN):
        raise SettingsError("ADMIN_TOKEN", f"must be at least {MIN_ADMIN_TOKEN} characters "
                            "(e.g. openssl rand -hex 32)")
    url = config.get("DATABASE_URL")
    if url is not None and (not isinstance(url, str)
                            or not url.startswith(("postgresql://", "postgres://"))):
        raise SettingsError("DATABASE_URL", "must be a postgresql://user@host:port/database URL")
    for part in _PARTS:
        part.check(config, SettingsError)


@dataclass(frozen=True)
class Layout:
    """Where things live on disk."""

    data_dir: Path
    database: Path | str  # the SQLite file, or TEMPEST_DATABASE_URL (a str) for PostgreSQL
    drop: Path
    archive: Path
    quarantine: Path
    secrets: Path  # made and checked by secretsdir.prepare, not by ensure()

    def ensure(self) -> None:
        for p in (self.data_dir, self.drop, self.archive, self.quarantine,
                  *([] if isinstance(self.database, str) else [self.database.parent])):
            p.mkdir(parents=True, exist_ok=True)

    def relative(self, path: Path) -> str:
        try:
            return str(Path(path).relative_to(self.data_dir))
        except ValueError:
            return str(path)


def layout(config) -> Layout:
    data = Path(config["DATA_DIR"]).expanduser().absolute()

    def pick(key: str, default: str) -> Path:
        value = config.get(key)
        return Path(value).expanduser().absolute() if value else data / default

    secrets = config.get("SECRETS_DIR")
    url = config.get("DATABASE_URL")
    return Layout(data, url or pick("DATABASE", "tempest.sqlite3"), pick("DROP_DIR", "drop"),
                  pick("ARCHIVE_DIR", "archive"), pick("QUARANTINE_DIR", "quarantine"),
                  Path(secrets).expanduser().absolute() if secrets
                  else data.parent / (data.name + ".secrets"))


def data_dir_from_env() -> str:
    return os.environ.get("TEMPEST_DATA_DIR") or DEFAULT_DATA_DIR


def config_file(data_dir: str) -> Path:
    """TEMPEST_CONFIG names the file; else tempest.toml in the data dir (optional)."""
    named = os.environ.get("TEMPEST_CONFIG")
    return Path(named) if named else Path(data_dir) / CONFIG_FILE_NAME


def load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("CONFIG", f"{path} is not valid TOML: {exc}") from exc


# Where things are is said by the environment or the command line, never by the env file.
_NOT_IN_ENV_FILE = ("TEMPEST_DATA_DIR", "TEMPEST_CONFIG", "TEMPEST_ENV_FILE",
                    "TEMPEST_SECRETS_DIR")


def env_file(environ=os.environ) -> dict[str, str]:
    """The `TEMPEST_NAME=value` lines of the file TEMPEST_ENV_FILE names ({} when unset).

    Secrets live there, outside the data dir, in a file only Tempest's account may read: one
    setting a line, the value taken as written (no quotes, no `$` expansion); blank lines and
    `#` comments are skipped. A file others may read is refused, as ssh refuses a key.
    """
    named = environ.get("TEMPEST_ENV_FILE")
    if not named:
        return {}
    path = Path(named).expanduser()
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("ENV_FILE", f"cannot read {path}: {exc}") from exc
    if mode & 0o077:
        raise SettingsError("ENV_FILE", f"{path} may be read by others (mode "
                            f"{stat.S_IMODE(mode):04o}): chmod 600 it")
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not name.startswith("TEMPEST_") or name in _NOT_IN_ENV_FILE:
            raise SettingsError("ENV_FILE", f"{path} line {number}: expected TEMPEST_NAME=value "
                                "(not TEMPEST_DATA_DIR, TEMPEST_CONFIG, TEMPEST_ENV_FILE or "
                                "TEMPEST_SECRETS_DIR)")
        values[name] = value.strip()
    return values


def env_file_to_config(config, environ=os.environ) -> None:
    """Apply the env file's settings, read as the environment's are (JSON where it parses,
    text settings as written); the environment itself is applied after, and wins.

    The env file's folder is also the secrets folder unless one is set (TEMPEST_SECRETS_DIR,
    or SECRETS_DIR in tempest.toml): every secret in one place."""
    values = env_file(environ)
    if environ.get("TEMPEST_ENV_FILE") and not config.get("SECRETS_DIR"):
        config["SECRETS_DIR"] = str(Path(environ["TEMPEST_ENV_FILE"]).expanduser().parent)
    for name, value in values.items():
        key = name[len("TEMPEST_"):]
        try:
            config[key] = value if key in TEXT else json.loads(value)
        except ValueError:
            config[key] = value

