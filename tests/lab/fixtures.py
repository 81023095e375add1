"""pytest fixtures for the lab fleet.

Tests under tests/lab/ get them through tests/lab/conftest.py. Elsewhere, add
`pytest_plugins = ["lab.fixtures"]` to the top-level tests/conftest.py.

Settings come from the environment (conftest options are not seen outside the top level):
METERS_LAB_METERS (default 20), METERS_LAB_WIPE=1 (fresh homes and crontabs at session start),
METERS_LAB_KEEP=1 (leave the lab running after the session), METERS_LAB_NAMESPACE=0 (no mount
namespace, hence no cron), and the METERS_LAB_DIR / _PORT / _PREFIX settings of
LabConfig.from_env.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ci_guard

from .fleet import Lab, LabConfig, cron_missing, missing

DEFAULT_METERS = 20


def skip_lab(what: str, reasons: list[str], lab: Lab | None = None) -> None:
    """Skip for what the machine lacks: a dependency skip (a failure under CI=true), except
    when METERS_LAB_NAMESPACE=0 turned the namespace off on purpose: an ordinary skip."""
    if lab is not None and not lab.ns.enabled and os.environ.get("METERS_LAB_NAMESPACE") == "0":
        pytest.skip(f"{what}: " + "; ".join(reasons))
    ci_guard.skip_missing(what, "; ".join(reasons))


@pytest.fixture(scope="session")
def lab() -> Lab:
    """A running lab fleet (sshd up, accounts ready, inventory written).

    Skips with the reason when the machine cannot host it (not root, no sshd).
    A lab that was already running (scripts/lab.sh up) is reused and left running.
    """
    reasons = missing()
    if reasons:
        skip_lab("what the lab fleet needs", reasons)
    meters = int(os.environ.get("METERS_LAB_METERS", DEFAULT_METERS))
    fleet = Lab(LabConfig.from_env(meters=meters))
    started = fleet.up(wipe_homes=os.environ.get("METERS_LAB_WIPE") == "1")
    yield fleet
    if started and os.environ.get("METERS_LAB_KEEP") != "1":
        fleet.down()


@pytest.fixture(scope="session")
def lab_cron(lab: Lab):
    """The lab's cron daemon, running (a Cron: .pid, .install(user, text), .show, .remove)."""
    reasons = cron_missing(lab)
    if reasons:
        skip_lab("what the lab's cron needs", reasons, lab)
    started = lab.cron.start()
    yield lab.cron
    if started and os.environ.get("METERS_LAB_KEEP") != "1":
        lab.cron.stop()


@pytest.fixture(scope="session")
def lab_inventory(lab: Lab) -> Path:
    """Path of the lab's generated Ansible inventory (all hosts)."""
    return lab.inventory
