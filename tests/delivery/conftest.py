"""Fixtures for the delivery tests: a real Tempest per test module (stopped by its PID), the
fault proxy, meter folders. A test that stops and starts a Tempest of its own uses
`make_tempest` (tests/support/fixtures.py)."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.support.tempest import Tempest

from .helpers import FaultProxy, MeterDir

_serials = itertools.count(1)


@pytest.fixture(scope="module")
def tempest(tmp_path_factory):
    """One real Tempest shared by a module's tests (each test uses serials of its own)."""
    d = tmp_path_factory.mktemp("tempest")
    # Answering is enough: the tests wait for the days they send. (Under tests/test_any_date.py's
    # libfaketime the ingest worker never reports itself running, and test_heartbeat.py runs there.)
    server = Tempest(d / "data", d / "tempest.log").start(wait_ingest=False)
    yield server
    server.stop()


@pytest.fixture
def proxy_factory(tmp_path):
    proxies: list[FaultProxy] = []

    def make(upstream: str) -> FaultProxy:
        p = FaultProxy(tmp_path, upstream)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.stop()


@pytest.fixture
def serial(request) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name.removeprefix("test_"))[:24]
    return f"dt{next(_serials):03d}-{name.strip('-_')}"


@pytest.fixture
def meter_for(tmp_path, serial):
    """meter_for(tempest, url=None, key=None, **config): a meter folder whose key Tempest
    issued; `url` points it elsewhere (a fault proxy in front of that Tempest, a closed port);
    `key` overrides the key."""

    def make(tempest, url: str | None = None, key: str | None = None, root=None,
             **fields) -> MeterDir:
        if key is None:
            key = tempest.add_meter(serial) if tempest is not None else "no-such-key-0123456789"
        return MeterDir(root or tmp_path / "meter", serial, tempest_url=url or tempest.url,
                        tempest_api_key=key, **fields)

    return make
