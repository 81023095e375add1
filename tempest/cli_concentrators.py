"""`tempest concentrators add|assign|release|list|show|revoke`: data concentrators, their keys
and the meters behind them (docs/concentrator.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tempest import db, keys, names
from tempest.cli_options import app_for, data_dir_option
from tempest.concentrators import registry as concentrators
from tempest.read import concentrators as read_concentrators
from tempest.settings import layout


def _cid(ctx, param, value: str) -> str:
    if not concentrators.valid_id(value):
        raise click.BadParameter(concentrators.ID_RULE, ctx=ctx, param=param)
    return value


def _serials(ctx, param, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if not names.valid_serial(value):
            raise click.BadParameter(f"{value!r}: 1 to 64 of A-Z a-z 0-9 _ . -, starting with "
                                     "a letter or digit, never '..'", ctx=ctx, param=param)
    return values


def _connect(data_dir: Path):
    return db.connect(layout(app_for(data_dir).config).database)


def bulk_serials(base: str, first: int, count: int) -> list[str]:
    """The serials a bulk meter host derives from its base serial (`meter --count`,
    meter/bulk.py: `<base>-<i:04d>`, i from 1), so an inventory's range is one option."""
    return [f"{base}-{i:04d}" for i in range(first, first + count)]


@click.group("concentrators")
def concentrators_group():
    """Register data concentrators, issue their keys, put meters behind them."""


@concentrators_group.command("add")
@data_dir_option
@click.argument("cid", metavar="ID", callback=_cid)
@click.option("--rotate", is_flag=True,
              help="Replace an existing key with a new one (the old one stops at once).")
@click.option("--key-stdin", is_flag=True,
              help="Read the key from standard input instead of generating one (a key kept in "
                   "Ansible Vault). The same key again changes nothing.")
def add(data_dir: Path, cid: str, rotate: bool, key_stdin: bool):
    """Register concentrator ID and print its new key (idempotent: an existing key is kept
    and not shown again; only its hash is stored)."""
    key = None
    if key_stdin:
        key = sys.stdin.readline().strip()
        if not keys.valid_key(key):
            raise click.BadParameter(f"the key must be {keys.KEY_RULE}",
                                     param_hint="'--key-stdin'")
    conn = _connect(data_dir)
    try:
        issued = concentrators.add(conn, cid, rotate=rotate, key=key)
    except (keys.KeyExists, keys.KeyHeldElsewhere) as exc:
        raise click.BadParameter(str(exc), param_hint="'--key-stdin'") from exc
    finally:
        conn.close()
    click.echo(issued.message, err=True)
    if issued.key is not None and not key_stdin:
        click.echo(issued.key)


@concentrators_group.command("assign")
@data_dir_option
@click.argument("cid", metavar="ID", callback=_cid)
@click.argument("serials", nargs=-1, metavar="[SERIAL...]", callback=_serials)
@click.option("--base", metavar="SERIAL", callback=lambda c, p, v: v and _serials(c, p, (v,))[0],
              help="With --count: a bulk host's serials, SERIAL-0001 onwards (as `meter "
                   "--count` derives them).")
@click.option("--count", type=click.IntRange(1, 1_000_000), help="How many, with --base.")
@click.option("--first", type=click.IntRange(1, 9_999_999), default=1, show_default=True,
              help="With --base: the first index.")
def assign(data_dir: Path, cid: str, serials: tuple[str, ...], base: str | None,
           count: int | None, first: int):
    """Put meters behind concentrator ID (registering meters not yet known). A meter behind
    another concentrator is moved: the old one is refused for it from then on."""
    if (base is None) != (count is None):
        raise click.BadParameter("--base and --count go together",
                                 param_hint="'--count'" if base else "'--base'")
    wanted = list(serials) + (bulk_serials(base, first, count) if base else [])
    if not wanted:
        raise click.BadParameter("name meters as SERIAL... or with --base and --count",
                                 param_hint="'SERIAL'")
    for serial in wanted[len(serials):][-1:]:
        if not names.valid_serial(serial):
            raise click.BadParameter(f"{serial} is longer than a serial may be",
                                     param_hint="'--base'")
    conn = _connect(data_dir)
    try:
        out = concentrators.assign(conn, cid, list(dict.fromkeys(wanted)))
    except concentrators.UnknownConcentrator as exc:
        raise click.BadParameter(f"no concentrator {cid} (add it first)",
                                 param_hint="'ID'") from exc
    finally:
        conn.close()
    click.echo(json.dumps({"id": cid, "assigned": len(out.assigned), "moved": out.moved,
                           "unchanged": len(out.unchanged)}))


@concentrators_group.command("release")
@data_dir_option
@click.argument("cid", metavar="ID", callback=_cid)
@click.argument("serials", nargs=-1, required=True, metavar="SERIAL...", callback=_serials)
def release(data_dir: Path, cid: str, serials: tuple[str, ...]):
    """Take meters from behind concentrator ID (their data stays)."""
    conn = _connect(data_dir)
    try:
        done = [s for s in serials if concentrators.release(conn, cid, s)]
    finally:
        conn.close()
    click.echo(json.dumps({"id": cid, "released": done,
                           "not_behind": [s for s in serials if s not in done]}))


@concentrators_group.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object each).")
def list_concentrators(data_dir: Path, as_json: bool):
    """List concentrators: key state, meters behind each, last batch (never the keys)."""
    conn = _connect(data_dir)
    try:
        items = read_concentrators.every(conn)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    click.echo(f"{'id':24} {'key':8} {'meters':>7}  last batch")
    for c in items:
        click.echo(f"{c['id']:24} {c['key']:8} {c['meters']:>7}  {c['last_seen'] or '-'}")


@concentrators_group.command("show")
@data_dir_option
@click.argument("cid", metavar="ID", callback=_cid)
def show(data_dir: Path, cid: str):
    """One concentrator as JSON, with the serials behind it."""
    conn = _connect(data_dir)
    try:
        row = read_concentrators.one(conn, cid)
        serials = read_concentrators.serials(conn, cid)
    finally:
        conn.close()
    if row is None:
        raise click.BadParameter(f"no concentrator {cid}", param_hint="'ID'")
    click.echo(json.dumps({**row, "serials": serials}, indent=1))


@concentrators_group.command("revoke")
@data_dir_option
@click.argument("cid", metavar="ID", callback=_cid)
def revoke(data_dir: Path, cid: str):
    """Revoke concentrator ID's key: its batches get 401 (its meters' data stays)."""
    conn = _connect(data_dir)
    try:
        had = concentrators.revoke(conn, cid)
    except concentrators.UnknownConcentrator as exc:
        raise click.BadParameter(f"no concentrator {cid}", param_hint="'ID'") from exc
    finally:
        conn.close()
    click.echo(f"revoked the key of {cid}" if had else f"{cid} had no key", err=True)
