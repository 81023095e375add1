"""A plain good day upload is taken by tempest/web/fastupload.py, outside Flask's request
machinery: the same 202 answer, the same file in the drop folder and the same allowance spent
as the Flask route; every other upload (a bad key, file or serial, an allowance used up, a
disk below its reserve) still gets the Flask route's refusal, spending the allowance once."""

from __future__ import annotations

import pytest

from tempest.settings import layout
from tests.tempest.tempest_testdata import issue_key, make_day

DAY = "2023-05-26"


@pytest.fixture
def key(conn):
    return issue_key(conn, "fastup")


def post(client, key, data: bytes):
    return client.post("/api/v1/days", data=data,
                       headers={"x-api-key": key, "Content-Type": "application/json"})


def flask_only(app):
    wrapped = app.wsgi_app
    app.wsgi_app = wrapped.inner
    return wrapped


def allowance_used(conn, app) -> float:
    row = conn.execute("SELECT uploads FROM meter_quota WHERE serial = 'fastup'").fetchone()
    return 0 if row is None else round(app.config["METER_UPLOADS_PER_HOUR"] - row["uploads"])


def test_the_fast_answer_is_the_flask_routes_answer(app, client, conn, key):
    lay = layout(app.config)
    fast = post(client, key, make_day("fastup", DAY))
    wrapped = flask_only(app)
    try:
        slow = post(client, key, make_day("fastup", "2023-05-27"))
    finally:
        app.wsgi_app = wrapped
    assert fast.status_code == slow.status_code == 202
    for name in ("Content-Type", "Access-Control-Allow-Origin"):
        assert fast.headers[name] == slow.headers[name], name
    assert int(fast.headers["Content-Length"]) == len(fast.data)
    a, b = fast.get_json(), slow.get_json()
    assert list(a) == list(b) == ["id", "status", "status_url", "serial", "reading_day"]
    assert a["status_url"] == f"/api/v1/ingest/{a['id']}"
    assert (a["status"], a["serial"], a["reading_day"]) == ("queued", "fastup", DAY)
    assert fast.data.endswith(b"\n") and slow.data.endswith(b"\n")
    # both left the file under an upload's name, and its verdict for ingest
    for doc in (a, b):
        [name] = [p.name for p in lay.drop.iterdir() if doc["id"] in p.name]
        assert name == f"fastup_{doc['reading_day']}.up-{doc['id']}.json"
        assert conn.execute("SELECT count(*) FROM verdicts WHERE id = ?",
                            (doc["id"],)).fetchone()[0] == 1
    assert allowance_used(conn, app) == 2
    # the status route knows the queued upload
    r = client.get(a["status_url"], headers={"x-api-key": key})
    assert r.status_code == 200 and r.get_json()["status"] == "queued"


def test_a_good_upload_never_reaches_flask(app, key):
    from werkzeug.test import Client

    from tempest.web import fastpath

    def flask_must_not_run(environ, start_response):
        raise AssertionError(f"{environ['PATH_INFO']} went to Flask")

    client = Client(fastpath.wrap(app, flask_must_not_run))
    r = client.post("/api/v1/days", data=make_day("fastup", DAY), headers={"x-api-key": key})
    assert r.status_code == 202
    with pytest.raises(AssertionError, match="went to Flask"):  # and a refused one does
        client.post("/api/v1/days", data=b"{}", headers={"x-api-key": key})


@pytest.mark.parametrize(("body", "status", "error"), [
    (b"not json", 400, "bad_request"),
    (make_day("other", DAY), 403, "forbidden"),
    (make_day("fastup", DAY).replace(b'"interval": 5', b'"interval": 7'),
     422, "invalid_day_file"),
])
def test_a_refused_upload_keeps_its_answer_and_spends_once(app, client, conn, key, body,
                                                           status, error):
    r = post(client, key, body)
    assert r.status_code == status, r.data
    assert r.get_json()["error"] == error and r.get_json()["reason"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert allowance_used(conn, app) == 1  # the Flask route spent it, the fast path did not
    assert not [p for p in layout(app.config).drop.iterdir() if p.name.endswith(".json")]


def test_a_bad_key_is_401(client, key):
    for headers in ({"x-api-key": "x" * 43}, {}):
        r = client.post("/api/v1/days", data=make_day("fastup", DAY), headers=headers)
        assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_an_allowance_used_up_is_429_from_the_flask_route(app, client, conn, key):
    app.config["METER_UPLOADS_PER_HOUR"] = 1
    assert post(client, key, make_day("fastup", DAY)).status_code == 202
    r = post(client, key, make_day("fastup", "2023-05-27"))
    assert r.status_code == 429 and r.get_json()["error"] == "too_many_uploads"
    assert int(r.headers["Retry-After"]) > 0


def test_a_disk_below_its_reserve_is_507(app, client, key):
    app.config["DISK_RESERVE_BYTES"] = 1 << 50
    r = post(client, key, make_day("fastup", DAY))
    assert r.status_code == 507 and r.get_json()["error"] == "insufficient_storage"


def test_a_drop_folder_it_cannot_write_is_503_and_spends_once(app, client, conn, key):
    drop = layout(app.config).drop
    drop.rmdir()
    drop.write_bytes(b"not a folder")  # the write into drop/ fails with an OSError
    r = post(client, key, make_day("fastup", DAY))
    assert r.status_code == 503 and r.get_json() == {
        "error": "unavailable", "reason": "Tempest cannot take the file right now; "
        "send it again later"}
    assert allowance_used(conn, app) == 1
