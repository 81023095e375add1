"""A bulk host's meters as DLMS/COSEM servers: every meter it simulates (`--count N`) on a
port of its own, `base port + i - 1` for meter i, as Gurux's simulator serves many meters
(docs/dlms.md). A head-end sees N ordinary meters: wrapper, server address 1, LLS with the
meter's own password; nothing in the registry or the collector needs to know they share a
host.

One process, a bounded number of threads, bounded memory, whatever N is:

- one thread watches every listening socket (`selectors`: a thousand ports are a thousand
  file descriptors, not a thousand threads) and hands each connection to a pool of
  `max_sessions` threads;
- with `--processes P` the host forks P - 1 workers once every port listens, and each
  process serves the meters i with (i - 1) mod P = its index: a session's work is Python,
  one core per process;
- a meter's model (its `MeterSource`) is built when a client first connects and kept in a
  small LRU cache, so memory grows with the sessions in flight, not with N.

Values come from the same derived configs (meter/bulk.py), model and folders as the bulk
host's day files (meter/bulkhost.py), so a profile read here equals the ledger's sealed day
files and `meter truth`, to the Wh. Passwords: `dlms.passwords_file` (a JSON object {serial:
password}, relative to the config, e.g. rendered from the vault) or, without it, each
meter's own derived from the base config's `dlms.password` (`derived_password`).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import hmac
import logging
import os
import selectors
import signal
import socket
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from meter.bulk import read_json_object
from meter.bulkhost import BulkHost
from meter.config import ConfigError
from meter.dlms.server import Association, serve_connection
from meter.dlms.source import MeterSource, Settings

log = logging.getLogger("meter.dlms")

# Sources kept warm: a head-end reads a meter in one session (a few connections at most).
SOURCE_CACHE = 64
MAX_SESSIONS = 32
PR_SET_PDEATHSIG = 1


def derived_password(secret: str, serial: str) -> str:
    """Meter `serial`'s LLS password, derived from the host's secret: 20 hex characters of
    HMAC-SHA256(secret, serial). Anyone holding the secret (the vault) can compute any meter's
    password; a meter's password tells nothing about another's."""
    return hmac.new(secret.encode(), serial.encode(), hashlib.sha256).hexdigest()[:20]


def passwords_of(host: BulkHost, settings: Settings, config_dir: Path) -> dict[str, str]:
    """{serial: password} of the host's meters (ConfigError naming the field if one lacks it)."""
    spec = host.base_cfg.raw.get("dlms") or {}
    name = spec.get("passwords_file")
    if name:
        doc = read_json_object("dlms.passwords_file", Path(config_dir) / name)
        out = {}
        for i in range(1, host.count + 1):
            serial = host.serial(i)
            if not isinstance(doc.get(serial), str):
                raise ConfigError("dlms.passwords_file", f"no password for {serial}")
            out[serial] = doc[serial]
        return out
    if not settings.password:
        raise ConfigError("dlms.password", "a bulk host needs dlms.password (the secret each "
                                           "meter's password is derived from) or "
                                           "dlms.passwords_file")
    return {host.serial(i): derived_password(settings.password, host.serial(i))
            for i in range(1, host.count + 1)}


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when its parent dies (a killed host leaves no workers)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class BulkDlms:
    """Meters 1..N of a bulk host on ports base_port .. base_port + N - 1."""

    def __init__(self, host: BulkHost, listen: str, base_port: int,
                 passwords: dict[str, str], at: str | None, profile_days: int,
                 max_sessions: int = MAX_SESSIONS):
        self.host = host
        self.listen = listen
        self.base_port = base_port
        self.passwords = passwords
        self.at = at
        self.profile_days = profile_days
        self._sources: OrderedDict[int, MeterSource] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_sessions, thread_name_prefix="dlms-session")
        self._selector = selectors.DefaultSelector()
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._children: list[int] = []

    def port(self, i: int) -> int:
        return self.base_port + i - 1

    def bind(self) -> None:
        """Listen on every meter's port (OSError if one is taken: nothing is left open)."""
        try:
            for i in range(1, self.host.count + 1):
                s = socket.create_server((self.listen, self.port(i)), backlog=16)
                s.setblocking(False)
                self._sockets.append(s)
                self._selector.register(s, selectors.EVENT_READ, i)
        except OSError:
            self.close()
            raise

    def source(self, i: int) -> MeterSource:
        """Meter i's source, built on first use and kept while recently used."""
        with self._lock:
            src = self._sources.get(i)
            if src is not None:
                self._sources.move_to_end(i)
                return src
        src = MeterSource(self.host.config_of(i), self.host.root(i), self.at,
                          self.profile_days)
        with self._lock:
            self._sources[i] = src
            while len(self._sources) > SOURCE_CACHE:
                self._sources.popitem(last=False)
        return src

    def keep_share(self, k: int, n: int) -> None:
        """Serve only meters i with (i - 1) % n == k: one worker process's share of the ports.
        A fresh selector: after a fork the old one (an epoll) is shared with the parent."""
        mine, others = [], []
        for s in self._sockets:
            (mine if (self._selector.get_key(s).data - 1) % n == k else others).append(s)
        selector = selectors.DefaultSelector()
        for s in mine:
            selector.register(s, selectors.EVENT_READ, self._selector.get_key(s).data)
        for s in others:
            s.close()
        self._selector.close()
        self._selector, self._sockets = selector, mine

    def fork_workers(self, n: int) -> None:
        """Serve from n processes (a core each: a session's work is Python, one core per
        process): this one keeps share 0, n - 1 forked children the rest. Call before any
        thread starts; close() stops the children."""
        for k in range(1, n):
            pid = os.fork()
            if pid == 0:  # the child: its share until SIGTERM (or its parent's death)
                _die_with_parent()
                signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                code = 0
                try:
                    self.keep_share(k, n)
                    self.serve_forever()
                except BaseException:  # noqa: BLE001 - a child never returns into the CLI
                    log.exception("DLMS worker %d failed", k)
                    code = 1
                finally:
                    os._exit(code)
            self._children.append(pid)
        self.keep_share(0, n)

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.5):
                try:
                    conn, peer = key.fileobj.accept()
                except (BlockingIOError, OSError):
                    continue
                self._pool.submit(self._session, conn, peer, key.data)

    def _session(self, conn: socket.socket, peer, i: int) -> None:
        with conn:
            try:
                conn.setblocking(True)
                src = self.source(i)
                assoc = Association(src, self.passwords[self.host.serial(i)])
            except Exception:  # a meter that cannot be built must not take the host down
                log.exception("meter %s cannot serve", self.host.serial(i))
                return
            serve_connection(conn, assoc, peer)

    def serve_in_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, daemon=True, name="dlms-accept")
        t.start()
        return t

    def shutdown(self) -> None:
        self._stop.set()

    def server_close(self) -> None:  # (as socketserver's servers are closed)
        self.close()

    def close(self) -> None:
        self._stop.set()
        for pid in self._children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in self._children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self._children.clear()
        for s in self._sockets:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            s.close()
        self._sockets.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def endpoints(self, advertised: str) -> list[dict]:
        """What a head-end registers (`tempest meters dlms --from`): one entry per meter, with
        its password (write it to a 0600 file only)."""
        tz = self.host.base_cfg.model["timezone"]
        return [{"serial": self.host.serial(i), "host": advertised, "port": self.port(i),
                 "timezone": tz, "password": self.passwords[self.host.serial(i)]}
                for i in range(1, self.host.count + 1)]
