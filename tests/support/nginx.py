"""A real nginx (Debian's) terminating TLS in front of an HTTP server a test started, with a
certificate made here by openssl for the proxy's loopback address; stopped by its PID.

The certificate is self-signed, so the file `cert` is also the CA bundle a client verifies it
with (as the CA of a private PKI would be).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import requests

from tests.support.addresses import free_address
from tests.support.processes import stop_process
from tests.support.waiting import wait_for

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen {host}:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {{
            proxy_pass {upstream};
{headers}
        }}
    }}
}}
"""


class TlsProxy:
    """nginx in the foreground: https://host:port/ -> `upstream` (an http:// URL)."""

    def __init__(self, folder: Path, upstream: str, probe: str = "/",
                 headers: list[str] = ()):
        """`headers`: `proxy_set_header ...;` lines for the location block."""
        for tool in (NGINX, OPENSSL):
            if not Path(tool).exists():
                raise RuntimeError(f"{tool} is needed (scripts/setup.sh --test installs it)")
        self.dir = Path(folder)
        self.dir.mkdir(parents=True)
        self.host, self.port = free_address()
        self.url = f"https://{self.host}:{self.port}/"
        self.cert = self.dir / "cert.pem"
        self.probe = probe
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "3650", "-keyout", str(self.dir / "key.pem"), "-out", str(self.cert),
                        "-subj", f"/CN={self.host}", "-addext", f"subjectAltName=IP:{self.host}"],
                       check=True, capture_output=True, timeout=60)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(CONF.format(dir=self.dir, host=self.host, port=self.port,
                                         upstream=upstream,
                                         headers="\n".join(" " * 12 + h for h in headers)))
        self.proc: subprocess.Popen | None = None

    def start(self) -> TlsProxy:
        with open(self.dir / "stderr.log", "ab") as log:
            self.proc = subprocess.Popen(
                [NGINX, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c",
                 str(self.conf), "-g", "daemon off;"], stdout=log, stderr=log)
        wait_for(self._answers, 20, 0.1, f"nginx answering at {self.url}")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + (self.dir / "error.log").read_text()[-2000:])
        with contextlib.suppress(requests.RequestException):
            return requests.get(self.url.rstrip("/") + self.probe, verify=str(self.cert),
                                timeout=2).ok
        return False

    def requests_seen(self) -> str:
        """nginx's access log: every request it proxied."""
        path = self.dir / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc, 15)
