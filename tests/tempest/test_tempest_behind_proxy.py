"""Tempest behind the TLS proxy docs/operations.md recommends: a real nginx from Debian, with a
certificate the test makes (openssl), in front of a real `tempest serve`.

The proxy block's `proxy_set_header` lines are read from docs/operations.md, so the test
proves the documented set-up. With TEMPEST_TRUSTED_PROXIES=1 an admin signs in over HTTPS,
gets a `Secure` session cookie, and an admin form works; without it (the default, which
trusts no forwarded header) the form is refused `403`, as before the setting existed.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.support import REPO
from tests.support.nginx import TlsProxy
from tests.tempest import uisession


def documented_proxy_headers() -> list[str]:
    """The `proxy_set_header` lines of the nginx block in docs/operations.md."""
    text = (REPO / "docs" / "operations.md").read_text()
    block = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert block, "docs/operations.md has no nginx block"
    lines = [line.strip() for line in block.group(1).splitlines()
             if line.strip().startswith("proxy_set_header")]
    assert lines, "the nginx block in docs/operations.md sets no proxy headers"
    return lines


@pytest.fixture
def behind_nginx(make_tempest, tmp_path):
    """Factory: a real Tempest (with `env`) holding one quarantined file, behind nginx."""
    proxies: list[TlsProxy] = []

    def make(**env):
        data = tmp_path / f"data{len(proxies)}"
        uisession.quarantine_one(data)
        tempest = make_tempest(data, **env).start()
        proxy = TlsProxy(tmp_path / f"nginx{len(proxies)}", tempest.url, probe="/api/v1/health",
                         headers=documented_proxy_headers())
        proxies.append(proxy)
        proxy.start()
        return tempest, proxy

    yield make
    for p in proxies:
        p.stop()


def _admin_over_https(proxy: TlsProxy) -> tuple[requests.Response, requests.Response, str]:
    """Sign in through the proxy, then discard the quarantined file with the page's CSRF
    token. Returns the sign-in answer, the form's answer and the file's id."""
    s = requests.Session()
    s.verify = str(proxy.cert)
    base = proxy.url.rstrip("/")
    qid = uisession.quarantined_id(base, verify=str(proxy.cert))
    signed_in = uisession.sign_in(s, base)
    token = uisession.csrf(s, base)
    assert token, "the signed-in page carries no CSRF token"
    answer = uisession.post_form(s, base, f"/ui/quarantine/{qid}/discard", token)
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
