"""The fleet the Ansible tests share: deployed once per session with `site.yml`.

Every host starts from a fresh image (homes, crontabs and processes wiped), so the first
deploy is a real first deploy; METERS_ANSIBLE_FRESH=0 keeps what an earlier session deployed
(a faster first run, for working on the tests). The lab's cron runs throughout when the
machine allows it, so heartbeats and ticks happen on their own schedule while the tests go on.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.lab.config import Host
from tests.lab.fleet import Lab
from tests.support import ci_guard

from .fleet import Fleet, Run

FIRST_METERS = 5  # deployed by the first site.yml run; the next lab meter is "added" later


@dataclass
class Deployed:
    lab: Lab
    fleet: Fleet
    meters: list[Host]  # in the inventory; grows when a test adds a meter
    inventory: Path
    first: Run
    cron: object | None
    finished_at: float
    fresh: bool  # the hosts were wiped before the first deploy
    notes: dict = field(default_factory=dict)  # what one test leaves for a later one

    def host(self, name: str) -> Host:
        return self.lab.host(name)


@pytest.fixture(scope="session")
def deployed(lab: Lab, request) -> Deployed:
    ci_guard.require_binary("rsync", "ssh-keygen", "ssh-keyscan",
                            why="the Ansible fleet tests: apt-get install rsync openssh-client")
    if len(lab.meters) < FIRST_METERS + 1:
        pytest.skip(f"the Ansible fleet tests need {FIRST_METERS + 1} lab meters "
                    f"(METERS_LAB_METERS is {len(lab.meters)})")
    fresh = os.environ.get("METERS_ANSIBLE_FRESH") != "0"
    if fresh:
        lab.wipe_homes()
    try:
        cron = request.getfixturevalue("lab_cron")
    except pytest.skip.Exception:
        cron = None  # the cron-dependent checks skip with the reason; the rest still runs
    fleet = Fleet(lab)
    fleet.snapshot()
    meters = lab.meters[:FIRST_METERS]
    inventory = fleet.write_inventory(meters)
    first = fleet.playbook("site.yml", inventory=inventory)
    return Deployed(lab, fleet, meters, inventory, first, cron, time.time(), fresh)
