"""`tempest dlms-collect`: read yesterday's (or a given day's) load profile from each DLMS
meter and drop the day files for ingest (docs/dlms.md)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from core import tzdb
from tempest.cli_options import app_for, data_dir_option
from tempest.settings import layout


@click.command("dlms-collect")
@data_dir_option
@click.option("--meters", "meters_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JSON list of the DLMS meters: {serial, host, port, password_file, timezone, "
                   "channels?} (password_file relative to it).")
@click.option("--day", metavar="DAY", help="The reading day, YYYY-MM-DD (default: yesterday "
              "in each meter's zone).")
@click.option("--at", metavar="ISO-TIME", help="Pretend it is this time (tests, demos).")
def dlms_collect(data_dir: Path, meters_file: Path, day: str | None, at: str | None) -> None:
    """Collect a day from each DLMS meter into the drop folder, one JSON line per meter
    (with its clock skew). A meter that cannot be read is reported and the others go on
    (exit 1 at the end)."""
    from core import civil
    from tempest.dlms.collect import collect_day, read_endpoints

    try:
        endpoints = read_endpoints(meters_file)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.BadParameter(f"cannot read it: {exc}", param_hint="--meters") from exc
    try:
        wanted = civil.parse_day(day) if day else None
        now = datetime.fromisoformat(at).timestamp() if at else time.time()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--day/--at") from exc
    drop = layout(app_for(data_dir).config).drop
    failed = 0
    for ep in endpoints:
        zone = tzdb.zone(ep.timezone)
        target = wanted if wanted is not None else zone.day_of(int(now // 60)) - 1
        try:
            got = collect_day(ep, target, drop, now)
        except Exception as exc:  # a meter down or refusing must not stop the others
            failed += 1
            click.echo(json.dumps({"serial": ep.serial, "route": "dlms",
                                   "error": f"{type(exc).__name__}: {exc}"}))
            continue
        click.echo(json.dumps(got.summary()))
    if failed:
        sys.exit(1)
