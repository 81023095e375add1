"""`tempest meters add|list|revoke`: the meter registry and its keys."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from core import tzdb
from core.progress import Progress
from tempest import db, keys, names, registry
from tempest.cli_options import app_for, data_dir_option, quiet_option
from tempest.read import meters as read_meters
from tempest.settings import layout


def _serial(ctx, param, value: str) -> str:
    if not names.valid_serial(value):
        raise click.BadParameter("1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or "
                                 "digit, never '..'", ctx=ctx, param=param)
    return value


def _serials(ctx, param, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        _serial(ctx, param, value)
    return values


def _zone(ctx, param, value: str | None) -> str | None:
    if value is not None and not tzdb.valid_zone(value):
        raise click.BadParameter(f"unknown IANA time zone {value!r} (e.g. Pacific/Auckland)",
                                 ctx=ctx, param=param)
    return value


def _connect(data_dir: Path):
    app = app_for(data_dir)
    return app, db.connect(layout(app.config).database)


@click.group()
def meters():
    """Register meters and manage their API keys."""


@meters.command("add")
@data_dir_option
@click.argument("serials", nargs=-1, metavar="SERIAL...", callback=_serials)
@click.option("--timezone", callback=_zone,
              help="The meter's IANA zone, used for seed-era files whose times carry no offset.")
@click.option("--rotate", is_flag=True,
              help="Replace an existing key with a new one. Without it, running `add` again "
                   "for a meter that has a key changes nothing and prints no key (only its "
                   "hash is stored, so it cannot be shown again).")
@click.option("--key-stdin", is_flag=True,
              help="Read the key from standard input instead of generating one (for keys kept "
                   "in Ansible Vault). Running again with the same key changes nothing; a key "
                   "another meter holds is refused. One SERIAL only.")
@click.option("--from", "from_file", type=click.File("r"), metavar="FILE",
              help="Register many meters with keys of their own instead of SERIAL...: a JSON "
                   "object {serial: key} in FILE ('-': standard input; e.g. the keys Ansible "
                   "Vault holds). No key is printed. Same key again: no change; a different "
                   "key: refused (exit 2, naming the meter) unless --rotate, the others still "
                   "registered.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the keys issued as one JSON object {serial: key} (the "
                   "tempest_api_keys_file of a bulk meter host); meters that keep their key "
                   "are left out. With --from: {changed: [...], unchanged: [...], refused: "
                   "{serial: reason}}.")
@quiet_option
def add(data_dir: Path, serials: tuple[str, ...], timezone: str | None, rotate: bool,
        key_stdin: bool, from_file, as_json: bool, quiet: bool):
    """Register each SERIAL and print its new API key (idempotent)."""
    if from_file is not None:
        if serials or key_stdin:
            raise click.BadParameter("give either SERIAL... or --from FILE",
                                     param_hint="'--from'")
        _add_from(data_dir, _keys_from(from_file), timezone, rotate, as_json, quiet)
        return
    if not serials:
        raise click.BadParameter("needs SERIAL... (or --from FILE)", param_hint="'SERIAL...'")
    key = None
    if key_stdin:
        if len(serials) > 1:
            raise click.BadParameter("takes one SERIAL", param_hint="'--key-stdin'")
        key = sys.stdin.readline().strip()
        if not keys.valid_key(key):
            raise click.BadParameter(f"the key must be {keys.KEY_RULE}",
                                     param_hint="'--key-stdin'")
    _, conn = _connect(data_dir)
    issued_keys: dict[str, str] = {}
    try:
        # Thousands of serials: a bar on a terminal instead of a line each.
        with Progress(len(serials), "meters add", unit="meters",
                      quiet=quiet or len(serials) < 2) as bar:
            for serial in serials:
                try:
                    issued = keys.add(conn, serial, timezone=timezone, rotate=rotate, key=key)
                except (keys.KeyExists, keys.KeyHeldElsewhere) as exc:
                    raise click.BadParameter(str(exc), param_hint="'--key-stdin'") from exc
                if not bar.visible:
                    click.echo(issued.message, err=True)
                bar.update(1)
                if issued.key is not None and not key_stdin:
                    issued_keys[serial] = issued.key
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(issued_keys, indent=1))
    elif len(serials) == 1:
        for k in issued_keys.values():
            click.echo(k)
    else:
        for serial, k in issued_keys.items():
            click.echo(f"{serial} {k}")


def _keys_from(stream) -> dict[str, str]:
    """{serial: key} of a --from object (exit 2 naming the entry and field that is wrong; a
    key is never shown)."""
    try:
        doc = json.load(stream)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="'--from'") from exc
    if not isinstance(doc, dict):
        raise click.BadParameter("a JSON object {serial: key}", param_hint="'--from'")
    for serial, key in doc.items():
        if not names.valid_serial(serial):
            raise click.BadParameter(f"{serial!r} is not a serial", param_hint="'--from'")
        if not keys.valid_key(key):
            raise click.BadParameter(f"{serial}: the key must be {keys.KEY_RULE}",
                                     param_hint="'--from'")
    return doc


def _add_from(data_dir: Path, given: dict[str, str], timezone: str | None, rotate: bool,
              as_json: bool, quiet: bool) -> None:
    """Each meter of `given` with its own key, in one process (the deploy's one call for a
    whole batch of meters). A refused key stops no other meter; exit 2 names each refused."""
    report: dict = {"changed": [], "unchanged": [], "refused": {}}
    _, conn = _connect(data_dir)
    try:
        with Progress(len(given), "meters add", unit="meters",
                      quiet=quiet or len(given) < 2) as bar:
            for serial, key in given.items():
                try:
                    issued = keys.add(conn, serial, timezone=timezone, rotate=rotate, key=key)
                except (keys.KeyExists, keys.KeyHeldElsewhere) as exc:
                    report["refused"][serial] = str(exc)
                else:
                    report["changed" if issued.changed else "unchanged"].append(serial)
                    if not bar.visible:
                        click.echo(issued.message, err=True)
                bar.update(1)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(report, indent=1))
    for serial, reason in report["refused"].items():
        click.echo(f"Error: {serial}: {reason}", err=True)
    if report["refused"]:
        sys.exit(2)


@meters.command("revoke")
@data_dir_option
@click.argument("serial", callback=_serial)
def revoke(data_dir: Path, serial: str):
    """Revoke SERIAL's key: its uploads and heartbeats are refused (its data stays)."""
    _, conn = _connect(data_dir)
    try:
        had = keys.revoke(conn, serial)
    except keys.UnknownMeter as exc:
        raise click.BadParameter(f"no meter {serial} is registered",
                                 param_hint="'SERIAL'") from exc
    finally:
        conn.close()
    click.echo(f"revoked the key of {serial}" if had else f"{serial} had no key", err=True)


@meters.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per meter).")
def list_meters(data_dir: Path, as_json: bool):
    """List registered meters with status and key state (never the keys)."""
    app, conn = _connect(data_dir)
    online, stale = registry.thresholds(app.config)
    now = time.time()
    try:
        items = [read_meters.as_dict(r, now, online, stale) for r in read_meters.every(conn)]
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    click.echo(f"{'serial':24} {'status':10} {'key':8} {'timezone':20} {'days':>6}  last seen")
    for m in items:
        click.echo(f"{m['serial']:24} {m['status']:10} {m['key']:8} {m['timezone'] or '-':20} "
                   f"{m['days_stored']:>6}  {m['last_seen'] or '-'}")


@meters.command("dlms")
@data_dir_option
@click.argument("serial", required=False, callback=lambda c, p, v: v and _serial(c, p, v))
@click.option("--host", help="The meter's DLMS/COSEM address (name or IP).")
@click.option("--port", type=click.IntRange(1, 65535), default=4059, show_default=True,
              help="Its DLMS TCP port (wrapper).")
@click.option("--password-file",
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A file holding the meter's LLS password (one line, e.g. rendered from the "
                   "vault). Tempest keeps it in its secrets folder, never in the store nor the "
                   "API.")
@click.option("--from", "from_file",
              type=click.Path(dir_okay=False, exists=True, allow_dash=True, path_type=Path),
              help="Register many meters instead: a JSON list of {serial, host, port, password "
                   "or password_file, timezone?} (password_file relative to the list; timezone "
                   "sets the meter's zone), e.g. what `meter dlms-serve --count N --endpoints "
                   "FILE` writes. '-': standard input (the deploy's one call for a batch of "
                   "meters: no password on a command line or on disk).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {changed: [...], unchanged: [...]}: the meters whose endpoint, "
                   "password or zone this call changed, and the others.")
def dlms(data_dir: Path, serial: str | None, host: str | None, port: int,
         password_file: Path | None, from_file: Path | None, as_json: bool):
    """Register SERIAL's DLMS endpoint (or every meter's in --from): `tempest dlms-collect`
    then reads it (idempotent: only what differs from what Tempest holds is written)."""
    from tempest.dlms import endpoints

    zones: dict[str, str] = {}
    if from_file is not None:
        if serial or host or password_file:
            raise click.BadParameter("give either SERIAL --host --password-file or --from",
                                     param_hint="'--from'")
        items, zones = _endpoints_from(from_file)
    elif serial and host and password_file:
        items = [(serial, host, port, password_file.read_text().strip())]
    else:
        raise click.BadParameter("needs SERIAL, --host and --password-file (or --from FILE)",
                                 param_hint="'SERIAL'/'--host'/'--password-file'")
    app, conn = _connect(data_dir)
    try:
        known = {r["serial"] for r in read_meters.every(conn)}
        unknown = [s for s, *_ in items if s not in known]
        if unknown:
            raise click.BadParameter(f"no meter {unknown[0]} is registered (tempest meters add "
                                     "--timezone ZONE first)", param_hint="'SERIAL'")
        try:
            changed = endpoints.register_many(conn, layout(app.config).secrets, items,
                                              time.time(), zones)
        except endpoints.BadEndpoint as exc:
            raise click.BadParameter(str(exc), param_hint="'--password-file'/'--host'") from exc
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps({"changed": sorted(changed),
                               "unchanged": sorted({s for s, *_ in items} - changed)}))
    if from_file is None:
        click.echo(f"{serial} is read over DLMS at {host}:{port}", err=True)
    else:
        click.echo(f"{len(items)} meters are read over DLMS", err=True)


def _endpoints_from(path: Path) -> tuple[list[tuple[str, str, int, str]], dict[str, str]]:
    """(serial, host, port, password) of each entry of a --from list ('-': standard input),
    and the zones the entries give (exit 2 naming the entry and field that is wrong)."""
    base = Path.cwd() if str(path) == "-" else path.parent
    try:
        doc = json.loads(sys.stdin.read() if str(path) == "-" else path.read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="'--from'") from exc
    if not isinstance(doc, list):
        raise click.BadParameter("a JSON list of endpoints", param_hint="'--from'")
    out, zones = [], {}
    for n, item in enumerate(doc):
        where = f"entry {n}"
        try:
            serial = item["serial"]
            where = f"{serial}"
            if not isinstance(serial, str) or not names.valid_serial(serial):
                raise ValueError("serial: not a valid serial")
            if "password" in item:
                password = item["password"]
            else:
                password = (base / item["password_file"]).read_text().strip()
            if "timezone" in item:
                if not isinstance(item["timezone"], str) or not tzdb.valid_zone(item["timezone"]):
                    raise ValueError(f"timezone: unknown IANA time zone {item['timezone']!r}")
                zones[serial] = item["timezone"]
            out.append((serial, item["host"], item.get("port", 4059), password))
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise click.BadParameter(f"{where}: {exc!s} (need serial, host, port, password or "
                                     "password_file)", param_hint="'--from'") from exc
    return out, zones
