"""Tempest behind the TLS proxy docs/operations.md recommends: a real nginx from Debian, with a
certificate the test makes (openssl), in front of a real `tempest serve`.

The proxy block's `proxy_set_header` lines are read from docs/operations.md, so the test
proves the documented set-up. With TEMPEST_TRUSTED_PROXIES=1 an admin signs in over HTTPS,
gets a `Secure` session cookie, and an admin form works; without it (the default, which
trusts no forwarded header) the form is refused `403`, as before the setting existed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.procs import loopback, stop_pid, wait_for
from tests.tempest import uisession
from tests.tempest.tempest_helpers import REPO

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

NGINX_CONF = """\
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


def documented_proxy_headers() -> list[str]:
    """The `proxy_set_header` lines of the nginx block in docs/operations.md."""
    text = (REPO / "docs" / "operations.md").read_text()
    block = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert block, "docs/operations.md has no nginx block"
    lines = [line.strip() for line in block.group(1).splitlines()
             if line.strip().startswith("proxy_set_header")]
    assert lines, "the nginx block in docs/operations.md sets no proxy headers"
    return lines


class Nginx:
    """A real nginx in the foreground (its own config, pid, logs and temp folders), HTTPS on
    a loopback port, proxying to `upstream`; stopped by its PID."""

    def __init__(self, folder: Path, upstream: str):
        if not Path(NGINX).exists() or not Path(OPENSSL).exists():
            pytest.fail("nginx and openssl are needed (scripts/setup.sh --test installs them)")
        self.dir = folder
        self.dir.mkdir()
        self.host, self.port = loopback(20, 29)
        self.url = f"https://{self.host}:{self.port}"
        self.cert = self.dir / "cert.pem"
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-keyout", str(self.dir / "key.pem"), "-out", str(self.cert),
                        "-subj", f"/CN={self.host}", "-addext", f"subjectAltName=IP:{self.host}"],
                       check=True, capture_output=True, timeout=60)
        headers = "\n".join(" " * 12 + line for line in documented_proxy_headers())
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(dir=self.dir, host=self.host, port=self.port,
                                               upstream=upstream, headers=headers))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Nginx:
        log = open(self.dir / "stderr.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(self.conf),
             "-g", "daemon off;"], stdout=log, stderr=log)
        log.close()
        wait_for(self._answers, 20, 0.1, "nginx answering over HTTPS")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited: " + (self.dir / "error.log").read_text()[-2000:])
        try:
            return requests.get(self.url + "/api/v1/health", verify=str(self.cert), timeout=2).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        stop_pid(self.proc, 15)


@pytest.fixture
def behind_nginx(tempest_process, tmp_path):
    """Factory: a real Tempest (with `env`) holding one quarantined file, behind nginx."""
    proxies: list[Nginx] = []

    def make(**env):
        data = tmp_path / f"data{len(proxies)}"
        uisession.quarantine_one(data)
        tempest = tempest_process(data, **env).start()
        proxy = Nginx(tmp_path / f"nginx{len(proxies)}", tempest.url)
        proxies.append(proxy)
        proxy.start()
        return tempest, proxy

    yield make
    for p in proxies:
        p.stop()


def _admin_over_https(proxy: Nginx) -> tuple[requests.Response, requests.Response, str]:
    """Sign in through the proxy, then discard the quarantined file with the page's CSRF
    token. Returns the sign-in answer, the form's answer and the file's id."""
    s = requests.Session()
    s.verify = str(proxy.cert)
    qid = uisession.quarantined_id(proxy.url, verify=str(proxy.cert))
    signed_in = uisession.sign_in(s, proxy.url)
    token = uisession.csrf(s, proxy.url)
    assert token, "the signed-in page carries no CSRF token"
    answer = uisession.post_form(s, proxy.url, f"/ui/quarantine/{qid}/discard", token)
    return signed_in, answer, qid


def test_admin_forms_work_over_https_behind_a_trusted_proxy(behind_nginx):
    tempest, proxy = behind_nginx(TEMPEST_TRUSTED_PROXIES="1")
    signed_in, answer, qid = _admin_over_https(proxy)
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].endswith("/ui/quarantine")
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith(uisession.COOKIE + "=")
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
    assert uisession.quarantine_record(tempest.url, qid)["resolution"] == "discarded"


def test_without_the_setting_forwarded_headers_are_not_trusted(behind_nginx):
    """Off by default: the same proxy, Tempest not told about it. The form is refused (the
    browser's https origin is not the http one Tempest sees) and nothing changes."""
    tempest, proxy = behind_nginx()
    signed_in, answer, qid = _admin_over_https(proxy)
    assert "; Secure" not in signed_in.headers["Set-Cookie"]
    assert answer.status_code == 403
    assert uisession.quarantine_record(tempest.url, qid)["resolved_at"] is None
