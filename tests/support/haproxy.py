"""A real HAProxy (Debian's) balancing HTTP over Tempest nodes a test started, on a loopback
address of its own; stopped by its PID.

It checks each node's /api/v1/health a few times a second and takes a node out at the first
failed check, and retries a request whose connection failed on another node (a request already
sent to a node that dies is answered 502: the client sends it again, as a meter does).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support import ci_guard
from tests.support.addresses import free_address
from tests.support.processes import stop_process

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

CONF = """\
global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
frontend tempest
    bind {host}:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /api/v1/health
{servers}
"""


class HAProxy:
    def __init__(self, folder: Path, nodes: list[tuple[str, int]]):
        self.dir = Path(folder)
        self.nodes = nodes
        self.host, self.port = free_address()
        self.url = f"http://{self.host}:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> HAProxy:
        ci_guard.require_binary(HAPROXY, why="Debian's haproxy package (scripts/setup.sh --test)")
        self.dir.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"    server n{i} {h}:{p} check inter 250 fall 1 rise 1"
                            for i, (h, p) in enumerate(self.nodes))
        conf = self.dir / "haproxy.cfg"
        conf.write_text(CONF.format(host=self.host, port=self.port, servers=servers))
        with open(self.dir / "haproxy.log", "ab") as log:
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(conf)], stdout=log,
                                         stderr=log)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
