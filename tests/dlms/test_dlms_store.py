"""The DLMS registry's and events' statements on both stores (portable SQL): SQLite and a real
PostgreSQL server (tests.support.fixtures' postgres_server, started by the test run)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tempest import keys
from tempest.dlms import endpoints, schedule
from tempest.read import events as read_events
from tempest.read import meters as read_meters
from tests.dlms.meters import BERLIN

DOWN = datetime(2024, 6, 13, tzinfo=BERLIN).timestamp()  # an outage on 06-13, midnight to
UP = datetime(2024, 6, 14, tzinfo=BERLIN).timestamp()    # midnight


@pytest.fixture
def store(store_on_both):
    return store_on_both


def test_endpoints_skew_and_events_on_both_stores(store, tmp_path):
    conn, secrets = store, tmp_path / "secrets"
    keys.add(conn, "dl-1", timezone="Europe/Berlin", rotate=False, key=None)
    endpoints.register(conn, secrets, "dl-1", "meter-a", 4059, "pw-1", 1.0)
    endpoints.register(conn, secrets, "dl-1", "meter-b", 4060, "pw-2", 2.0)  # moved: updated
    eps, problems = endpoints.every(conn, secrets)
    assert [(e.host, e.port, e.password, e.timezone) for e in eps] == [
        ("meter-b", 4060, "pw-2", "Europe/Berlin")] and not problems
    with pytest.raises(endpoints.BadEndpoint):
        endpoints.register(conn, secrets, "dl-1", "meter-b", 4060, "é", 3.0)
    endpoints.record(conn, "dl-1", 5.0, skew_s=-300.04)
    endpoints.record(conn, "dl-1", 6.0, error="CommunicationError: the meter closed it")
    shown = endpoints.shown(conn, secrets, "dl-1")
    assert (shown["clock_skew_s"], shown["password"]) == (-300.0, True)
    assert shown["last_error"].startswith("CommunicationError")
    page = read_meters.page(conn, now=10.0, online=60, stale=600, status=None, prefix=None,
                            page=1, per_page=5)
    assert page["items"][0]["route"] == "dlms"

    assert schedule.store_events(conn, "dl-1", [(DOWN, 1), (UP, 2)], 7.0) == 2
    assert schedule.store_events(conn, "dl-1", [(DOWN, 1), (UP, 2)], 8.0) == 0  # read again
    day = read_events.for_day(conn, "dl-1", "Europe/Berlin", "2024-06-13")
    assert [e["event"] for e in day["events"]] == ["power_down", "power_up"]
    assert day["events"][0]["at"] == "2024-06-13T00:00:00+02:00"
    assert day["off_at_start"] is True  # the power failed at the very start
    after = read_events.for_day(conn, "dl-1", "Europe/Berlin", "2024-06-14")
    assert after["off_at_start"] is False  # back at the very start
    assert read_events.for_day(conn, "dl-1", "Europe/Berlin", "2024-06-15") == {
        "events": [], "off_at_start": False}
