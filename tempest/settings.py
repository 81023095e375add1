"""Tempest's settings: defaults, then a TOML config file, then `TEMPEST_*` environment variables.

Every setting is documented in docs/operations.md (a test checks that). Paths default to folders
under the data dir, so `--data-dir` alone is enough on a laptop.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "./var/tempest"

# Name -> default. Paths left as None are derived from DATA_DIR by `layout()`.
DEFAULTS: dict[str, object] = {
    "DATA_DIR": DEFAULT_DATA_DIR,
    "DATABASE": None,  # <data-dir>/tempest.sqlite3
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
    "INGEST_PROCESSES": 1,  # >1: parse a batch in that many processes (CPU-bound backlogs)
    "HEARTBEAT_RETENTION_DAYS": 7,
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 1000,
    "SECRET_KEY": None,  # generated once per data dir and kept in <data-dir>/secret_key
}

CONFIG_FILE_NAME = "tempest.toml"


@dataclass(frozen=True)
class Layout:
    """Where things live on disk."""

    data_dir: Path
    database: Path
    drop: Path
    archive: Path
    quarantine: Path

    def ensure(self) -> None:
        for p in (self.data_dir, self.drop, self.archive, self.quarantine,
                  self.database.parent):
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

    return Layout(data, pick("DATABASE", "tempest.sqlite3"), pick("DROP_DIR", "drop"),
                  pick("ARCHIVE_DIR", "archive"), pick("QUARANTINE_DIR", "quarantine"))


def data_dir_from_env() -> str:
    return os.environ.get("TEMPEST_DATA_DIR") or DEFAULT_DATA_DIR


def config_file(data_dir: str) -> Path:
    """TEMPEST_CONFIG names the file; else tempest.toml in the data dir (optional)."""
    named = os.environ.get("TEMPEST_CONFIG")
    return Path(named) if named else Path(data_dir) / CONFIG_FILE_NAME


def load_toml(path: Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def secret_key(data_dir: Path) -> str:
    """The data dir's own secret, made on first use (never a shared "dev" fallback)."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # Written under a temporary name and linked into place, so a concurrent reader never
    # sees an empty file, and the first of two racing processes wins.
    tmp = data_dir / f".secret_key.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value
