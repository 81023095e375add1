"""Fixtures shared across test folders.

The lab fleet's fixtures (`lab`, `lab_cron`, `lab_inventory`; docs/lab.md) for tests outside
tests/lab/, e.g. the Ansible tests in tests/ansible/; Tempest's (`app`, `client`, `conn`,
`runner`, `make_tempest`; docs/testing.md) for every suite. `tests` is a package, so the
plugins are imported by their full names.
"""

import pytest

pytest_plugins = ["tests.lab.fixtures", "tests.support.fixtures"]

# What `scripts/test.sh` runs as its own process beside the rest (`-m lab` / `-m "not lab"`):
# tests that drive the lab fleet (sshd, one Unix user per Pi, Ansible over SSH) or the local
# fleet of `scripts/up.sh`. They spend much of their time waiting on SSH round trips and
# cron-paced meters, so the two halves overlap well on two cores; each half keeps to its own
# resources (the lab's addresses and users, the local fleet's fixed ports; everything else
# binds free ports).
LAB_FIXTURES = {"lab", "lab_cron", "lab_inventory"}
LAB_FOLDERS = ("tests/localfleet/", "tests/lab/", "tests/ansible/")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.nodeid.replace("\\", "/")
        if LAB_FIXTURES & set(item.fixturenames) or path.startswith(LAB_FOLDERS):
            item.add_marker(pytest.mark.lab)
