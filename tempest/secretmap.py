"""A file of per-meter secrets Tempest must send as written ({serial: secret}), in the secrets
folder (TEMPEST_SECRETS_DIR, tempest/secretsdir.py): mode 0600, replaced atomically, one
writer at a time across processes (gunicorn workers share the folder). Agent keys
(tempest/fleetconfig/agentkeys.py) and DLMS passwords (tempest/dlms/endpoints.py) are kept so.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path


class SecretMap:
    def __init__(self, file_name: str):
        self.file_name = file_name

    def path(self, secrets_dir: Path) -> Path:
        return Path(secrets_dir) / self.file_name

    def read(self, secrets_dir: Path) -> dict[str, str]:
        """Every serial's secret ({} for a missing or unreadable file)."""
        try:
            doc = json.loads(self.path(secrets_dir).read_text())
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(doc, dict):
            return {}
        return {k: v for k, v in doc.items() if isinstance(k, str) and isinstance(v, str)}

    def set(self, secrets_dir: Path, serial: str, secret: str) -> bool:
        """Keep `secret` for `serial`. True if it changed."""
        with self._locked(secrets_dir):
            doc = self.read(secrets_dir)
            if doc.get(serial) == secret:
                return False
            doc[serial] = secret
            self._write(secrets_dir, doc)
        return True

    def update(self, secrets_dir: Path, secrets: dict[str, str]) -> int:
        """Keep many serials' secrets in one write (a bulk registration). How many changed."""
        with self._locked(secrets_dir):
            doc = self.read(secrets_dir)
            changed = sum(1 for k, v in secrets.items() if doc.get(k) != v)
            if changed:
                doc.update(secrets)
                self._write(secrets_dir, doc)
        return changed

    def remove(self, secrets_dir: Path, serial: str) -> bool:
        with self._locked(secrets_dir):
            doc = self.read(secrets_dir)
            if serial not in doc:
                return False
            del doc[serial]
            self._write(secrets_dir, doc)
        return True

    @contextlib.contextmanager
    def _locked(self, secrets_dir: Path):
        Path(secrets_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = Path(secrets_dir) / f".{Path(self.file_name).stem}.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, secrets_dir: Path, doc: dict[str, str]) -> None:
        path = self.path(secrets_dir)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
