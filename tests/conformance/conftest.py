"""Each ready scenario written once per test session (a second or two each)."""

from __future__ import annotations

import pytest

from meter.conformance import delivery
from meter.conformance.scenarios import SCENARIOS


@pytest.fixture(scope="session")
def written(tmp_path_factory):
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = tmp_path_factory.mktemp(name)
            delivery.write(SCENARIOS[name], cache[name])
        return cache[name]

    return get
