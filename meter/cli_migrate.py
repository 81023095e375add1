"""`meter migrate-seed`: a seed fleet's devices become Meters meters, each with a key of its own
(docs/migrate-from-seed.md).

Why a `meter` command: its input is meter configs (the seed's, checked by the meter's own
validator, which Tempest may not import) and its output is the inventory the meter and pico
roles deploy, on the controller where the inventory lives. Tempest is only told, over its admin
API, as the deploy tells it: each meter and its key (Tempest keeps only a hash).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click
import requests

from core import tzdb
from meter import seedfleet
from meter.cli_options import fail

EXIT_TEMPEST = 1  # Tempest could not be reached or failed: running again is safe


class TempestRefused(Exception):
    """Tempest holds another key for a meter: the operator decides (--rotate)."""


class TempestFailed(Exception):
    """Tempest answered something else than yes or no: running again is safe."""


class TempestAdmin:
    """Tempest's admin API, as far as the migration needs it."""

    def __init__(self, url: str, token: str, timeout: float = 30):
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kw) -> requests.Response:
        r = self.session.request(method, self.url + path, timeout=self.timeout, **kw)
        if r.status_code in (401, 403):
            fail(f"--admin-token-file: Tempest at {self.url} refused the admin token "
                 f"({r.status_code}: {_reason(r)})")
        return r

    def has_key(self, serial: str) -> bool:
        r = self._call("GET", f"api/v1/meters/{serial}")
        return r.status_code == 200 and r.json().get("key") == "active"

    def register(self, serial: str, timezone: str, key: str | None, rotate: bool) -> bool:
        """Register the meter with `key` (None: keep the key it has); True if Tempest's key
        changed."""
        body = {"serial": serial, "timezone": timezone}
        if key is not None:
            body.update(key=key, rotate=rotate)
        r = self._call("POST", "api/v1/meters", json=body)
        if r.status_code == 409:
            raise TempestRefused(f"{serial}: {_reason(r)}. The inventory's key is not the one "
                                 "Tempest holds: run again with --rotate to give the meter a "
                                 "new key (its old one stops working at once)")
        if r.status_code not in (200, 201):
            raise TempestFailed(f"{serial}: Tempest answered {r.status_code}: {_reason(r)}")
        return r.status_code == 201


def _reason(r: requests.Response) -> str:
    try:
        return r.json().get("reason") or r.text[:200]
    except ValueError:
        return r.text[:200]


def _token(path: Path | None) -> str:
    if path is not None:
        try:
            token = path.read_text().strip()
        except OSError as exc:
            fail(f"--admin-token-file: cannot read {path}: {exc.strerror}")
    else:
        token = os.environ.get("TEMPEST_ADMIN_TOKEN", "").strip()
    if not token:
        fail("--admin-token-file: Tempest's admin token is needed (a file holding it, or "
             "TEMPEST_ADMIN_TOKEN in the environment)")
    return token


def _tempest_url(given: str | None, meters: list[seedfleet.SeedMeter]) -> str:
    if given is None:
        urls = seedfleet.tempest_urls(meters)
        if len(urls) != 1:
            fail(f"--tempest-url: the configs name {len(urls) or 'no'} Tempest URLs "
                 f"({', '.join(sorted(urls))}): say which Tempest the meters move to")
        given = urls.pop()
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail(f"--tempest-url: {given!r} is not an http(s) URL such as http://192.168.1.10:8002/")
    return given


STATES = {(True, "new"): "key issued", (True, "rotated"): "key rotated",
          (False, "kept"): "key kept", (True, "kept"): "key registered again",
          (False, "encrypted"): "key kept (encrypted vault.yml)"}


def _state(changed: bool, keys: seedfleet.Keys) -> str:
    return STATES.get((changed, keys.state), "key registered")


def _next_steps(inventory: Path, meters: list[seedfleet.SeedMeter], base: bool) -> str:
    pis = [m.serial for m in meters if not m.pico]
    picos = [m.serial for m in meters if m.pico]
    lines = ["", "Next:", "  1. Encrypt the keys before anything else (and before any commit):",
             f"       cd {inventory} && ansible-vault encrypt host_vars/*/vault.yml"]
    step = 2
    if pis:
        lines += [f"  {step}. Tell Ansible how to reach each Pi (ansible_host in "
                  "host_vars/<name>/vars.yml, unless its name resolves):", f"       "
                  f"{', '.join(pis)}"]
        step += 1
    if picos:
        lines += [f"  {step}. Each Pico: its USB port (pico_port in host_vars/<name>/vars.yml; "
                  "default /dev/ttyACM0) and the Wi-Fi", "       (vault_wifi_ssid, "
                  "vault_wifi_password in group_vars/picos/vault.yml): "
                  f"{', '.join(picos)}"]
        step += 1
    if base:
        lines.append(f"  {step}. Check hosts.yml's Tempest host (tempest01): the playbooks "
                     "register each meter there too.")
        step += 1
    lines.append(f"  {step}. Put each new key on its device:")
    if pis:
        lines.append(f"       ansible-playbook -i {inventory} playbooks/meters.yml")
    for serial in picos:
        lines.append(f"       ansible-playbook -i {inventory} playbooks/picos.yml --limit "
                     f"{serial}    # with {serial} on USB")
    lines.append("Until then the devices send the seed's shared key, which Tempest refuses "
                 "(401, naming docs/migrate-from-seed.md).")
    return "\n".join(lines)


@click.command("migrate-seed")
@click.option("--configs", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The folder of the seed fleet's config files, one *.json per device.")
@click.option("--inventory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The Ansible inventory folder to write (e.g. inventory/seed); an existing "
                   "one keeps its hosts.yml and group_vars.")
@click.option("--tempest-url", metavar="URL",
              help="Tempest, e.g. http://192.168.1.10:8002/ (default: the configs' "
                   "tempest_url, when they all name the same one).")
@click.option("--admin-token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file holding Tempest's admin token (default: TEMPEST_ADMIN_TOKEN).")
@click.option("--timezone", default="Pacific/Auckland", show_default=True,
              help="The fleet's IANA zone (the seed's meters ran on a fixed +12:00).")
@click.option("--rotate", is_flag=True,
              help="Give every meter a new key, even one the inventory already has (the "
                   "old keys stop working at once). Without it a run again changes nothing.")
def migrate_seed(configs: Path, inventory: Path, tempest_url: str | None,
                 admin_token_file: Path | None, timezone: str, rotate: bool) -> None:
    """Move a seed fleet to Meters: register every device with Tempest under a key of its
    own, and write the Ansible inventory that puts each key on its device."""
    if not tzdb.valid_zone(timezone):
        fail(f"--timezone: unknown IANA time zone {timezone!r} (e.g. Pacific/Auckland)")
    try:
        meters = seedfleet.read_configs(configs)
    except seedfleet.SeedFleetError as exc:
        fail(f"--configs: {exc}")
    url = _tempest_url(tempest_url, meters)
    tempest = TempestAdmin(url, _token(admin_token_file))
    out = []
    try:
        for m in meters:
            keys = seedfleet.keys_for(inventory, m, rotate)
            if keys.tempest is None and not tempest.has_key(m.serial):
                fail(f"--inventory: {seedfleet.vault_path(inventory, m.serial)} is encrypted "
                     f"and Tempest holds no key for {m.serial}: run the playbook (it registers "
                     "the vault's key), or run again with --rotate")
            seedfleet.write_host(inventory, m, timezone, keys)  # the key is kept before it is sent
            changed = tempest.register(m.serial, timezone, keys.tempest, rotate)
            out.append(f"  {m.serial:<24} {m.kind:<5} {_state(changed, keys)}")
    except seedfleet.SeedFleetError as exc:
        fail(f"--inventory: {exc}")
    except TempestRefused as exc:
        fail(f"--rotate: Tempest refused {exc}")
    except TempestFailed as exc:
        click.echo(f"meter: {exc}; nothing is lost, run the same command again", err=True)
        sys.exit(EXIT_TEMPEST)
    except requests.RequestException as exc:
        click.echo(f"meter: cannot reach Tempest at {url}: {type(exc).__name__}; nothing is "
                   "lost, run the same command again", err=True)
        sys.exit(EXIT_TEMPEST)
    seedfleet.write_groups(inventory, meters)
    parts = urlsplit(url)
    base = seedfleet.write_base(inventory, parts.hostname, parts.port or 8002)
    click.echo(f"{len(meters)} seed meters registered with Tempest at {url}, each with a key "
               f"of its own, in the inventory {inventory}:")
    click.echo("\n".join(out))
    click.echo(_next_steps(inventory, meters, base))
