"""A helper shared by the tests of an uploaded day's way through ingest
(test_ingest_verdict.py, test_ingest_archive_link.py); their fixtures (`lay`, `key`,
`processor`) are in tests/tempest/conftest.py."""

from __future__ import annotations


def upload(client, key: str, data: bytes) -> str:
    """POST the day as the meter; its upload id (the route answered 202)."""
    r = client.post("/api/v1/days", data=data,
                    headers={"x-api-key": key, "Content-Type": "application/json"})
    assert r.status_code == 202, r.get_json()
    return r.get_json()["id"]
