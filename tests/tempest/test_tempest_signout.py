"""Signing out of the web UI revokes the session on the server, against a real `tempest serve`.

The session cookie is signed, not stored, so before Tempest kept a record of live sessions a
cookie saved before `/ui/logout` went on working after it. Now each sign-in is a row in the
store; signing out deletes it, and a replayed cookie is a signed-out visitor.
"""

from __future__ import annotations

import requests

from tests.tempest import uisession


def _admin(base: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    uisession.sign_in(s, base)
    token = uisession.csrf(s, base)
    assert token, "the signed-in page carries no CSRF token"
    return s, token


def test_a_cookie_saved_before_signing_out_opens_nothing(make_tempest, tmp_path):
    data = tmp_path / "data"
    uisession.quarantine_one(data)
    tempest = make_tempest(data).start()
    base = tempest.url
    qid = uisession.quarantined_id(base)
    s, token = _admin(base)
    other, other_token = _admin(base)  # a second admin, elsewhere
    saved = s.cookies.get(uisession.COOKIE)
    assert saved

    r = uisession.post_form(s, base, "/ui/logout", token)
    assert r.status_code == 302, r.text

    # The saved cookie, replayed by whoever kept it: not an admin any more.
    thief = requests.Session()
    thief.cookies.set(uisession.COOKIE, saved)
    assert uisession.csrf(thief, base) == ""  # the page offers no admin actions
    r = uisession.post_form(thief, base, f"/ui/quarantine/{qid}/discard", token)
    assert r.status_code == 403, r.text
    assert uisession.quarantine_record(base, qid)["resolved_at"] is None
    # The config fetch, an admin-session GET, is refused too.
    assert thief.get(base + "/ui/config/kili/agent", timeout=10).status_code == 403

    # Signing out ended that session only: the other admin is still signed in.
    r = uisession.post_form(other, base, f"/ui/quarantine/{qid}/discard", other_token)
    assert r.status_code == 302, r.text
    assert uisession.quarantine_record(base, qid)["resolution"] == "discarded"


def test_a_restart_keeps_live_sessions_and_forgets_none_that_ended(make_tempest, tmp_path):
    """Sessions live in the store, so a restart (or another gunicorn worker) knows them."""
    data = tmp_path / "data"
    uisession.quarantine_one(data)
    tempest = make_tempest(data).start()
    kept, kept_token = _admin(tempest.url)
    ended, ended_token = _admin(tempest.url)
    saved = ended.cookies.get(uisession.COOKIE)
    assert uisession.post_form(ended, tempest.url, "/ui/logout", ended_token).status_code == 302
    tempest.stop()
    tempest.start()
    base = tempest.url
    kept.cookies = _rehome(kept.cookies)
    assert uisession.csrf(kept, base) == kept_token
    replay = requests.Session()
    replay.cookies.set(uisession.COOKIE, saved)
    assert uisession.csrf(replay, base) == ""


def _rehome(jar):
    """The same cookie for the restarted server's new address (cookies are per host)."""
    fresh = requests.cookies.RequestsCookieJar()
    fresh.set(uisession.COOKIE, jar.get(uisession.COOKIE))
    return fresh
