"""Fixtures for the delivery tests: a real Tempest per test module (stopped by its PID), a
Tempest of a test's own when the test stops and starts it, the fault proxy, meter folders."""

from __future__ import annotations

import itertools
import re

import pytest

from .helpers import FaultProxy, MeterDir, TempestServer

_serials = itertools.count(1)


@pytest.fixture(scope="module")
def tempest(tmp_path_factory):
    """One real Tempest shared by a module's tests (each test uses serials of its own)."""
    d = tmp_path_factory.mktemp("tempest")
    server = TempestServer(d / "data", d / "tempest.log").start()
    yield server
    server.stop()


@pytest.fixture
def own_tempest(tmp_path):
    """A real Tempest for one test, which may stop and start it; stopped at the end."""
    servers: list[TempestServer] = []

    def make(**env) -> TempestServer:
        s = TempestServer(tmp_path / f"tempest{len(servers)}", tmp_path /
                          f"tempest{len(servers)}.log", **env)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


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
