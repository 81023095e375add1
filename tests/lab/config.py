"""What a lab is: its folder, port, user names and loopback addresses.

Everything here is pure data, so the inventory, the sshd config and the tests all agree on
which user lives on which address without touching the machine.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Tempest sits just below the meters so that meter N is always 127.0.0.(10 + N).
TEMPEST_ADDRESS = ipaddress.IPv4Address("127.0.0.10")
FIRST_METER_ADDRESS = TEMPEST_ADDRESS + 1
# Marks the accounts the lab created, so purge never deletes a real user that merely
# happens to have a lab-like name.
GECOS_MARK = "Meters lab host"


@dataclass(frozen=True)
class Host:
    """One simulated machine: an inventory name, a Unix user and the address it is pinned to."""

    name: str
    user: str
    address: str
    group: str | None  # inventory group; None for accounts that are not Ansible hosts
    home: Path


@dataclass(frozen=True)
class LabConfig:
    dir: Path = REPO / ".lab"
    port: int = 2222
    prefix: str = "lab-"
    meters: int = 5
    home_root: Path = Path("/home")
    python: str = "/usr/bin/python3"
    # Extra `rrsync` options for the drop account. -no-lock matters: without it rrsync lets
    # only one upload at a time into the folder and every other meter's sync fails. -munge:
    # a symbolic link a meter sends lands pointing under /rsyncd-munged/ (leads nowhere).
    rrsync_options: tuple[str, ...] = field(default=("-wo", "-munge", "-no-del", "-no-lock"))

    @classmethod
    def from_env(cls, meters: int | None = None, **overrides) -> LabConfig:
        """Build a config from METERS_LAB_* variables, so two checkouts can run side by side."""
        env = os.environ
        values: dict = {}
        if env.get("METERS_LAB_DIR"):
            values["dir"] = Path(env["METERS_LAB_DIR"]).resolve()
        if env.get("METERS_LAB_PORT"):
            values["port"] = int(env["METERS_LAB_PORT"])
        if env.get("METERS_LAB_PREFIX"):
            values["prefix"] = env["METERS_LAB_PREFIX"]
        if meters is not None:
            values["meters"] = meters
        elif env.get("METERS_LAB_METERS"):
            values["meters"] = int(env["METERS_LAB_METERS"])
        values.update(overrides)
        return cls(**values).checked()

    def checked(self) -> LabConfig:
        if not 1 <= self.meters <= 200:
            raise ValueError(f"meters must be 1..200, not {self.meters}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be 1..65535, not {self.port}")
        if not self.prefix or not self.prefix.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"prefix must be letters, digits, '-' or '_', not {self.prefix!r}")
        return self

    def _host(self, name: str, address, group: str | None, login: str | None = None) -> Host:
        user = f"{self.prefix}{login or name}"
        return Host(name, user, str(address), group, self.home_root / user)

    @property
    def tempest(self) -> Host:
        # Inventory name tempest01, not "tempest": Ansible warns when a host and a group
        # share a name.
        return self._host("tempest01", TEMPEST_ADDRESS, "tempest", login="tempest")

    @property
    def drop(self) -> Host:
        """The rsync-only account meters deliver into; it shares Tempest's address."""
        return self._host("drop", TEMPEST_ADDRESS, None)

    @property
    def meter_hosts(self) -> list[Host]:
        width = max(2, len(str(self.meters)))
        return [
            self._host(f"m{i:0{width}d}", FIRST_METER_ADDRESS + (i - 1), "meters")
            for i in range(1, self.meters + 1)
        ]

    @property
    def ansible_hosts(self) -> list[Host]:
        return [self.tempest, *self.meter_hosts]

    @property
    def accounts(self) -> list[Host]:
        """Every Unix account the lab needs, Ansible hosts first."""
        return [*self.ansible_hosts, self.drop]

    @property
    def drop_dir(self) -> Path:
        """Tempest's drop folder in the lab; the drop account's rrsync is pinned to it."""
        return self.tempest.home / "drop"

    @property
    def drop_probe_dir(self) -> Path:
        """Where the controller's key lands in the drop account: a folder of its own, hidden,
        so a Tempest deployed into the lab leaves what the lab's probes write there alone."""
        return self.drop_dir / ".labprobe"

    @property
    def drop_keys_file(self) -> Path:
        """Keys allowed into the drop account, kept by the Tempest account (no become needed)."""
        return self.tempest.home / ".ssh" / "drop_authorized_keys"
